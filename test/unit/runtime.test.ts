import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';

describe('test runtime', () => {
  it('runs on the same Node.js major as the Lambda runtime (the pinned node devDependency)', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    const pinnedMajor = pkg.devDependencies.node?.split('.')[0];
    expect(pinnedMajor).toBe('24');
    expect(process.versions.node.split('.')[0]).toBe(pinnedMajor);
  });
});
