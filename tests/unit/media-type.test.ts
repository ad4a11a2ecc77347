import { describe, expect, it } from 'vitest'

import { servedAs } from '../../src/file-sync/shared/file-headers.ts'
import { dispositionFor, isMediaType, mediaTypeOr } from '../../src/file-sync/shared/media-type.ts'

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
    for (const value of [
      'image/png\r\nX: 1',
      'image/png\n',
      'a\u0000/b',
      'text/html\u0000',
      'image',
      'image/',
      '/png',
      'image/png;',
      'image/png; charset',
      'image/png; a="unclosed',
      'bild/jpég',
      ' image/png',
      `image/${'x'.repeat(250)}`,
      '',
      42,
      undefined,
    ]) {
      expect(isMediaType(value), JSON.stringify(value)).toBe(false)
    }
  })

  it('falls back to application/octet-stream', () => {
    expect(mediaTypeOr('image/png')).toBe('image/png')
    expect(mediaTypeOr('image/png\r\n')).toBe('application/octet-stream')
    expect(mediaTypeOr('')).toBe('application/octet-stream')
  })
})

describe('what is served inline', () => {
  const inline = [
    'image/jpeg',
    'image/png',
    'image/webp',
    'image/gif',
    'image/avif',
    'image/heic',
    'video/mp4',
    'video/webm',
    'audio/mpeg',
    'audio/ogg; codecs=opus',
    'IMAGE/JPEG',
  ]
  const attachment = [
    'text/html',
    'text/html; charset=utf-8',
    'image/svg+xml',
    'IMAGE/SVG+XML',
    'image/svg',
    'application/xhtml+xml',
    'text/xml',
    'application/xml',
    'image/foo+xml',
    'application/javascript',
    'text/javascript',
    'application/pdf',
    'text/plain',
    'application/octet-stream',
    'multipart/x-mixed-replace; boundary=x',
    '',
  ]

  it('is pictures (not SVG or XML), sound and video; everything else is an attachment', () => {
    for (const type of inline) expect(dispositionFor(type), type).toBe('inline')
    for (const type of attachment) expect(dispositionFor(type), type).toBe('attachment')
  })

  it('is how the Worker and the service worker serve the type a link names', () => {
    const invalid = ['image/png\r\nX: 1', 'text/html\u0000', 'image', 'bild/jpég', `image/${'x'.repeat(250)}`]
    for (const type of [...inline, ...attachment, ...invalid, 'text/plain; charset="utf-8"']) {
      expect(servedAs(type), type).toEqual(
        isMediaType(type) ? { type, disposition: dispositionFor(type) } : { type: 'application/octet-stream', disposition: 'attachment' },
      )
    }
  })
})
