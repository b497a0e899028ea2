/** Lambda entry of the profiles function: dependencies built once per container, at init. */
import { loadConfig } from '../../src/platform/config/env';
import { profileReadsDependencies } from './dependencies';
import { createProfileReadsHandler } from './handler';

export const handler = createProfileReadsHandler(profileReadsDependencies(loadConfig()));
