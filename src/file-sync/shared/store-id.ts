/**
 * What a store id may be: LiveStore's rule (`[a-zA-Z0-9_-]+`) with a length cap. One rule for
 * the page (a store from the URL), the tokens, the file routes and the admin API.
 */
export const isValidStoreId = (storeId: string): boolean => /^[a-zA-Z0-9_-]{1,64}$/.test(storeId)

/** The rule in words, for an error answer. */
export const STORE_ID_RULE = 'storeId must be 1-64 characters of [a-zA-Z0-9_-]'
