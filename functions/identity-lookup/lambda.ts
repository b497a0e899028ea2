/** Lambda entry of the identities function: dependencies built once per container, at init. */
import { loadConfig } from '../../src/platform/config/env';
import { identitiesDependencies } from './dependencies';
import { createIdentitiesHandler } from './handler';

export const handler = createIdentitiesHandler(identitiesDependencies(loadConfig()));
