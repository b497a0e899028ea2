/** Lambda entry of the decide function: dependencies built once per container, at init. */
import { loadConfig } from '../config/env';
import { decideDependencies } from './dependencies';
import { createDecideHandler } from './handler';

export const handler = createDecideHandler(decideDependencies(loadConfig()));
