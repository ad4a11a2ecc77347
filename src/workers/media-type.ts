/**
 * Media types as HTTP spells them (RFC 9110, 8.3.1): `type/subtype`, then `; name=value`
 * parameters, a value a token or a quoted string; ASCII only, no control characters, at most
 * 255 characters. What the file API stores as a file's type must be one: a value with CR, LF or
 * NUL cannot be sent back as a header, so it would break every read of that content for everyone.
 * The page checks the same before it sends one (a type another device wrote may be anything).
 */

const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+"
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\t\\x20-\\x7e])*"'
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \\t]*;[ \\t]*${TOKEN}=(?:${TOKEN}|${QUOTED}))*$`)

export const maxMediaTypeLength = 255

export const OCTET_STREAM = 'application/octet-stream'

export const isMediaType = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= maxMediaTypeLength && MEDIA_TYPE.test(value)

/** The type to send or serve for a stored one: itself when valid, else `application/octet-stream`. */
export const mediaTypeOr = (value: unknown, fallback = OCTET_STREAM): string => (isMediaType(value) ? value : fallback)
