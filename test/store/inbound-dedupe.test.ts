import { describe, expect, it } from 'vitest';
import { DuplicateIndex, type DedupeKeys } from '../../src/store/inbound-dedupe';

const mail = (over: Partial<DedupeKeys> = {}): DedupeKeys => ({ contentHash: 'h1', messageId: '<a@x>', from: 'n@x', mailbox: null, uidvalidity: null, uid: null, ...over });

describe('DuplicateIndex', () => {
  const index = new DuplicateIndex();
  index.add({ id: 7, ...mail({ contentHash: 'h7', messageId: '<seven@x>', from: 'billing@x', mailbox: 'INBOX', uidvalidity: 1, uid: 40 }) });
  index.add({ id: 3, ...mail({ contentHash: 'h3', messageId: '<three@x>', from: 'billing@x' }) });
  index.add({ id: 9, ...mail({ contentHash: 'h9', messageId: '<three@x>', from: 'billing@x' }) }); // a later row with the same key: 3 stays the original

  it.each([
    ['same bytes', mail({ contentHash: 'h7', messageId: null }), { id: 7, how: 'same content', by: 'content', partial: false }],
    ['same Message-ID from the same sender', mail({ contentHash: 'new', messageId: '<three@x>', from: 'billing@x' }), { id: 3, how: 'same Message-ID <three@x>', by: 'messageId', partial: false }],
    ['same mailbox, UIDVALIDITY and UID', mail({ contentHash: 'new', messageId: null, mailbox: 'INBOX', uidvalidity: 1, uid: 40 }), { id: 7, how: 'same mailbox UID 40', by: 'uid', partial: false }],
    ['several keys: the earliest row wins', mail({ contentHash: 'h7', messageId: '<three@x>', from: 'billing@x' }), { id: 3, how: 'same Message-ID <three@x>', by: 'messageId', partial: false }],
  ])('%s is a duplicate', (_name, keys, expected) => {
    expect(index.find(keys)).toEqual(expected);
  });

  it('an original that kept only its headers (too_large) says so: the whole mail, come again, takes its place', () => {
    const partial = new DuplicateIndex();
    partial.add({ id: 4, ...mail({ contentHash: 'head', messageId: '<big@x>', from: 'billing@x' }), partial: true });
    expect(partial.find(mail({ contentHash: 'whole', messageId: '<big@x>', from: 'billing@x' }))).toEqual({ id: 4, how: 'same Message-ID <big@x>', by: 'messageId', partial: true });
  });

  it.each([
    ['the same Message-ID from another sender', mail({ contentHash: 'new', messageId: '<three@x>', from: 'mallory@evil' })],
    ['the same UID under another UIDVALIDITY', mail({ contentHash: 'new', messageId: null, mailbox: 'INBOX', uidvalidity: 2, uid: 40 })],
    ['the same UID in another mailbox', mail({ contentHash: 'new', messageId: null, mailbox: 'Other', uidvalidity: 1, uid: 40 })],
    ['no Message-ID and new bytes', mail({ contentHash: 'new', messageId: null })],
  ])('%s is not', (_name, keys) => {
    expect(index.find(keys)).toBeUndefined();
  });
});
