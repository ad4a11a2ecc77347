/**
 * What this page is called to the store's other pages: its browser and system, and a short
 * suffix kept in `localStorage`, so that two devices with the same browser differ, and two pages
 * of one browser differ only by their page id: "Chrome on Linux · a1b2".
 */
export interface DeviceLabelOptions {
  userAgent?: string
  storage?: Pick<Storage, 'getItem' | 'setItem'>
  /** Four hex digits for a device that has none yet. */
  newSuffix?: () => string
}

const SUFFIX_KEY = 'file-sync:device-suffix'

export const deviceLabel = ({
  userAgent = globalThis.navigator?.userAgent ?? '',
  storage = globalThis.localStorage,
  newSuffix = () => crypto.randomUUID().slice(0, 4),
}: DeviceLabelOptions = {}): string => {
  let suffix = storage?.getItem(SUFFIX_KEY) ?? ''
  if (!/^[0-9a-f]{4}$/.test(suffix)) {
    suffix = newSuffix()
    storage?.setItem(SUFFIX_KEY, suffix)
  }
  return `${browserOf(userAgent)} on ${systemOf(userAgent)} · ${suffix}`
}

/** The browser a user agent names; the order matters (Edge and Opera say Chrome too, Chrome says Safari). */
export const browserOf = (userAgent: string): string => {
  if (/\bEdg(e|A|iOS)?\//.test(userAgent)) return 'Edge'
  if (/\b(OPR|Opera)\//.test(userAgent)) return 'Opera'
  if (/\b(Firefox|FxiOS)\//.test(userAgent)) return 'Firefox'
  if (/\b(HeadlessChrome|Chrome|Chromium|CriOS)\//.test(userAgent)) return 'Chrome'
  if (/\bSafari\//.test(userAgent)) return 'Safari'
  return 'A browser'
}

export const systemOf = (userAgent: string): string => {
  if (/Android/.test(userAgent)) return 'Android'
  if (/iPhone|iPad|iPod/.test(userAgent)) return 'iOS'
  if (/CrOS/.test(userAgent)) return 'ChromeOS'
  if (/Windows/.test(userAgent)) return 'Windows'
  if (/Macintosh|Mac OS X/.test(userAgent)) return 'macOS'
  if (/Linux/.test(userAgent)) return 'Linux'
  return 'an unknown system'
}
