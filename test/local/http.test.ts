/** The local servers' HTTP helpers. */
import { describe, expect, it } from 'vitest';
import { requestPath } from '../../bin/local/http.js';

describe('requestPath', () => {
  it('gives the same path as URL for every kind of request target', () => {
    // Prepare: what the SDK sends, and targets URL normalises
    const targets = [
      '/@connections/AbC123xyz%3D',
      '/dev/@connections/AbC123xyz%3D',
      '/@connections/a%2Fb%3D/',
      '/_local/usage',
      '/',
      '/@connections/x?y=1',
      '/a/../@connections/x%3D',
      '/./@connections/x',
      '/@connections/a b',
      '/@connections/a\\b',
      '/@connections/é',
      '/a#frag',
      '//double//slashes',
      '/a//b',
      '*',
      'http://other/abs',
      '',
      `/${'a/'.repeat(5000)}${'b'.repeat(5000)} `,
    ];
    // Act + Assess
    for (const target of targets) expect(requestPath(target), target).toBe(new URL(target, 'http://local').pathname);
    expect(requestPath(undefined)).toBe('/');
  });
});
