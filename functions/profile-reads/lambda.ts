/** Lambda entry of the profiles function: dependencies built once per container, at init. */
import { loadConfig } from '../../src/platform/config/env';
import { profilesDependencies } from './dependencies';
import { createProfilesHandler } from './handler';

export const handler = createProfilesHandler(profilesDependencies(loadConfig()));
