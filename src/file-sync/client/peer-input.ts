/**
 * What other devices wrote is input like any other: a member of the store, a faulty client or an
 * old version may have put anything into a file's row. Before the page uses a row's values in a
 * URL, a path on disk or a name a person reads or saves, they go through here.
 */

/** A content hash as this project makes them: a SHA-256 in 64 lowercase hex digits. */
export const isContentHash = (value: unknown): value is string => typeof value === 'string' && /^[0-9a-f]{64}$/.test(value)

/**
 * Characters that change how the text around them is drawn without being seen: bidirectional
 * embeddings, overrides, isolates and marks (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F,
 * U+061C). "photo\u202Egnp.exe" would read as "photoexe.png".
 */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g
/** C0 and C1 control characters (and DEL): nothing a name shows. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g
const MAX_NAME_LENGTH = 255

const visible = (name: string): string => name.replace(BIDI_CONTROLS, '').replace(CONTROLS, '').trim()

/** A file's name as the page shows it: without invisible reordering or control characters. */
export const displayName = (name: string): string => {
  const shown = visible(name)
  return shown === '' ? 'Untitled' : shown.slice(0, MAX_NAME_LENGTH)
}

/** Characters no file system takes in a name, or that name another folder. */
const UNSAFE_IN_FILE_NAMES = /[\\/:*?"<>|]/g

/**
 * A file's name as a download is saved under: its shown name, without characters a file system
 * refuses or that would name a folder, nor leading dots (a hidden file) or trailing dots and spaces,
 * and its extension kept when it has to be shortened.
 */
export const downloadName = (name: string): string => {
  let safe = visible(name)
    .replace(UNSAFE_IN_FILE_NAMES, '_')
    .replace(/^[.\s]+/, '')
    .replace(/[.\s]+$/, '')
  if (safe === '') safe = 'file'
  if (safe.length > 200) {
    const dot = safe.lastIndexOf('.')
    const extension = dot > 0 && safe.length - dot <= 16 ? safe.slice(dot) : ''
    safe = safe.slice(0, 200 - extension.length) + extension
  }
  return safe
}
