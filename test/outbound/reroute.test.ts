import { describe, expect, it } from 'vitest';
import { replaceToHeader } from '../../src/outbound/reroute';

describe('replaceToHeader', () => {
  it('replaces a folded To: in place and leaves every other byte alone', () => {
    const raw = Buffer.from('From: a@x\r\nTo: old@acme.example,\r\n  other@acme.example\r\nSubject: =?UTF-8?B?w6k=?=\r\n\r\nTo: body line stays\r\n\xe9', 'latin1');
    const out = replaceToHeader(raw, 'new@acme.example').toString('latin1');
    expect(out).toBe('From: a@x\r\nTo: new@acme.example\r\nSubject: =?UTF-8?B?w6k=?=\r\n\r\nTo: body line stays\r\n\xe9');
  });

  it('adds a To: when there was none (LF mail)', () => {
    expect(replaceToHeader(Buffer.from('From: a@x\nSubject: s\n\nbody'), 'n@x').toString()).toBe('From: a@x\nSubject: s\nTo: n@x\n\nbody');
  });
});
