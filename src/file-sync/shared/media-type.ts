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

export const isMediaType = (value: unknown): value is string => typeof value === 'string' && value.length <= maxMediaTypeLength && MEDIA_TYPE.test(value)

/** The type to send or serve for a stored one: itself when valid, else `application/octet-stream`. */
export const mediaTypeOr = (value: unknown, fallback = OCTET_STREAM): string => (isMediaType(value) ? value : fallback)

/**
 * Whether bytes of this type may be shown in the app's own origin: pictures (not SVG or any XML,
 * which can carry script), sound and video, which the page itself shows in `<img>`, `<audio>`
 * and `<video>`. Everything else (HTML, SVG, XML, scripts, PDF, documents) is served as an
 * attachment: a direct navigation downloads it and nothing of it runs here. PDF too: browsers'
 * viewers differ in what of a PDF's script and forms they run, and the page shows no PDF itself.
 * The Worker and the service worker both serve by this rule (./file-headers, `servedAs`).
 */
export const isInlineType = (type: string): boolean =>
  /^(image\/(?!svg)[a-z0-9.+-]+|audio\/[a-z0-9.+-]+|video\/[a-z0-9.+-]+)\s*(;.*)?$/i.test(type) && !/\+xml\b/i.test(type)

/** `Content-Disposition` for bytes of this type: inline when shown in the page, else an attachment. */
export const dispositionFor = (type: string): 'inline' | 'attachment' => (isInlineType(type) ? 'inline' : 'attachment')
