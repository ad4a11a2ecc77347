/**
 * Where a store's files lie in the origin's private file system: `files/<storeId>/<sha256>`. The
 * files worker writes there (../client/local-file-storage.ts) and the service worker reads there
 * (../sw/index.ts).
 */
export const opfsFolderOf = (storeId: string): readonly [string, string] => ['files', storeId]
