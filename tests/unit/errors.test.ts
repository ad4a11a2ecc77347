import { describe, expect, test } from 'vitest'
import { FileError, type FileErrorKind, toFileError } from '../../src/file-sync/client/errors.ts'

describe('FileError', () => {
  test.each<[FileErrorKind, boolean]>([
    ['network', true],
    ['timeout', true],
    ['server', true],
    ['integrity', true],
    ['unauthorized', false],
    ['not-found', false],
    ['too-large', false],
    ['storage-full', false],
    ['bad-request', false],
    ['aborted', false],
  ])('a %s error is retryable: %s', (kind, retryable) => {
    expect(new FileError(kind, 'message').retryable).toBe(retryable)
  })

  test('keeps the HTTP status, the Retry-After and the cause', () => {
    const cause = new Error('underneath')
    const error = new FileError('server', 'Busy.', { status: 429, retryAfterSeconds: 5, cause })
    expect(error).toBeInstanceOf(Error)
    expect(error).toMatchObject({ name: 'FileError', kind: 'server', message: 'Busy.', status: 429, retryAfterSeconds: 5, cause })
  })
})

describe('toFileError', () => {
  test('returns a FileError as it is', () => {
    const error = new FileError('too-large', 'Too big.')
    expect(toFileError(error)).toBe(error)
  })

  test.each<[string, FileErrorKind]>([
    ['QuotaExceededError', 'storage-full'],
    ['AbortError', 'aborted'],
    ['TimeoutError', 'timeout'],
  ])('maps a DOMException %s to %s, keeping it as the cause', (name, kind) => {
    const exception = new DOMException('Something happened.', name)
    const error = toFileError(exception)
    expect(error.kind).toBe(kind)
    expect(error.cause).toBe(exception)
    expect(error.message).not.toBe('')
  })

  test("maps fetch's TypeError to a network failure", () => {
    const error = toFileError(new TypeError('fetch failed'))
    expect(error.kind).toBe('network')
    expect(error.retryable).toBe(true)
  })

  test('maps anything else to a bad request that keeps its message', () => {
    expect(toFileError(new Error('Something odd.'))).toMatchObject({ kind: 'bad-request', message: 'Something odd.' })
    expect(toFileError('a string')).toMatchObject({ kind: 'bad-request', message: 'a string' })
    expect(toFileError(new DOMException('Not allowed.', 'NotAllowedError'))).toMatchObject({ kind: 'bad-request', message: 'Not allowed.' })
  })
})
