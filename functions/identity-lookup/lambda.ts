/** Lambda entry of the identities function: dependencies built once per container, at init. */
import { loadConfig } from '../../src/platform/config/env';
import { identityLookupDependencies } from './dependencies';
import { createIdentityLookupHandler } from './handler';

export const handler = createIdentityLookupHandler(identityLookupDependencies(loadConfig()));
