import { describe, expect, it } from 'vitest'

import { isMediaType, mediaTypeOr } from '../../src/workers/media-type.ts'

describe('media types', () => {
  it('takes what browsers and HTTP send', () => {
    for (const value of [
      'image/jpeg',
      'image/svg+xml',
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      'text/plain; charset=utf-8',
      'text/plain;charset=UTF-8',
      'multipart/form-data; boundary="a b;c"',
      'application/x-www-form-urlencoded',
      'video/mp4; codecs="avc1.42E01E, mp4a.40.2"',
    ]) {
      expect(isMediaType(value), value).toBe(true)
    }
  })

  it('refuses control characters, missing parts, non-ASCII and overlong values', () => {
    for (const value of ['image/png\r\nX: 1', 'image/png\n', 'a\u0000/b', 'text/html\u0000', 'image', 'image/', '/png', 'image/png;', 'image/png; charset', 'image/png; a="unclosed', 'bild/jpég', ' image/png', `image/${'x'.repeat(250)}`, '', 42, undefined]) {
      expect(isMediaType(value), JSON.stringify(value)).toBe(false)
    }
  })

  it('falls back to application/octet-stream', () => {
    expect(mediaTypeOr('image/png')).toBe('image/png')
    expect(mediaTypeOr('image/png\r\n')).toBe('application/octet-stream')
    expect(mediaTypeOr('')).toBe('application/octet-stream')
  })
})
