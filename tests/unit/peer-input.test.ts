import { describe, expect, it } from 'vitest'

import { displayName, downloadName, isContentHash } from '../../src/file-sync/client/peer-input.ts'

describe('what other devices wrote', () => {
  it('takes only SHA-256 content hashes in lowercase hex', () => {
    expect(isContentHash('a'.repeat(64))).toBe(true)
    expect(isContentHash('0123456789abcdef'.repeat(4))).toBe(true)
    for (const bad of [
      'A'.repeat(64),
      'a'.repeat(63),
      'a'.repeat(65),
      `../${'a'.repeat(61)}`,
      `${'a'.repeat(63)}/`,
      `${'a'.repeat(32)}?x=${'a'.repeat(28)}`,
      '',
      42,
      null,
    ]) {
      expect(isContentHash(bad), String(bad)).toBe(false)
    }
  })

  it('shows names without bidirectional overrides or control characters', () => {
    expect(displayName('invoice\u202Efdp.exe')).toBe('invoicefdp.exe')
    expect(displayName('\u2067photo\u2069.jpg')).toBe('photo.jpg')
    expect(displayName('a\u0000b\nc\u009b.txt')).toBe('abc.txt')
    expect(displayName('Ünïcødé 写真 🙂.png')).toBe('Ünïcødé 写真 🙂.png')
    expect(displayName('\u202E')).toBe('Untitled')
    expect(displayName('x'.repeat(1000))).toHaveLength(255)
  })

  it('saves downloads under a name every file system takes, its extension kept', () => {
    expect(downloadName('invoice\u202Efdp.exe')).toBe('invoicefdp.exe')
    expect(downloadName('../../etc/passwd')).toBe('_.._etc_passwd')
    expect(downloadName('a:b*c?"d"<e>|f\\g.txt')).toBe('a_b_c__d__e__f_g.txt')
    expect(downloadName('.bashrc')).toBe('bashrc')
    expect(downloadName('report. . ')).toBe('report')
    expect(downloadName('...')).toBe('file')
    const long = downloadName(`${'x'.repeat(300)}.jpeg`)
    expect(long).toHaveLength(200)
    expect(long.endsWith('.jpeg')).toBe(true)
  })
})
