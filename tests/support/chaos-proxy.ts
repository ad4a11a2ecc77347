/**
 * A proxy between the page and the Worker that misbehaves on purpose, for fault tests: it
 * answers a share of file requests with 500, drops a share of connections, and cuts a share of
 * downloads short while pretending they ended well (chunked, no Content-Length), so that only a
 * hash check can tell. Other HTTP requests pass through untouched; the sync socket does not go
 * through it at all (the page's proxy sends /api/sync straight to the Worker).
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'

export interface ChaosRules {
  /** Share of file requests answered with a 500. */
  failRate: number
  /** Share of file requests whose connection is dropped without an answer. */
  dropRate: number
  /** Share of file downloads cut in the middle. */
  truncateRate: number
  /** A file is never harmed more than this many times in all, so every test can finish. */
  maxFaultsPerFile?: number
  seed?: number
}

export interface ChaosProxy {
  url: string
  /** How many of each fault were injected. */
  stats: { failed: number; dropped: number; truncated: number; passed: number; held: number }
  /** What happened to each request, in order: `<ms since start> <method> <path> <verdict>`. */
  log: string[]
  /** Holds back the file requests `match` picks (no answer, no error) until `release()`. */
  hold(match: (method: string, path: string) => boolean): void
  /** Lets the held requests through, and those that come from now on. */
  release(): void
  stop(): Promise<void>
}

/** mulberry32: a small seeded generator, so a failing run can be replayed with its seed. */
const seededRandom = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

export const startChaosProxy = async (target: string, rules: ChaosRules): Promise<ChaosProxy> => {
  const targetUrl = new URL(target)
  const random = seededRandom(rules.seed ?? 42)
  const maxFaults = rules.maxFaultsPerFile ?? 3
  const faultsPerFile = new Map<string, number>()
  const stats = { failed: 0, dropped: 0, truncated: 0, passed: 0, held: 0 }
  let holding: ((method: string, path: string) => boolean) | undefined
  const held: Array<() => void> = []
  const log: string[] = []
  const started = Date.now()
  const record = (key: string, verdict: keyof typeof stats) => {
    stats[verdict] += 1
    log.push(`${Date.now() - started} ${key} ${verdict}`)
  }

  const forward = (req: IncomingMessage, res: ServerResponse, onResponse?: (upstream: IncomingMessage) => void) => {
    const upstream = httpRequest({ host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers: req.headers }, (response) => {
      if (onResponse) return onResponse(response)
      res.writeHead(response.statusCode ?? 502, response.headers)
      response.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    // A page that went away (a held request let through after its test ended) is no error of the proxy's.
    req.on('error', () => upstream.destroy())
    res.on('error', () => upstream.destroy())
    req.pipe(upstream)
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://proxy').pathname
    if (!path.startsWith('/api/files/')) return forward(req, res)

    const key = `${req.method} ${path}`
    if (holding?.(req.method ?? 'GET', path)) {
      record(key, 'held')
      held.push(() => forward(req, res))
      return
    }
    const faults = faultsPerFile.get(path) ?? 0
    const roll = random()
    const harm = faults < maxFaults
    if (harm && roll < rules.failRate) {
      faultsPerFile.set(path, faults + 1)
      record(key, 'failed')
      req.resume()
      res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'chaos: internal error' }))
      return
    }
    if (harm && roll < rules.failRate + rules.dropRate) {
      faultsPerFile.set(path, faults + 1)
      record(key, 'dropped')
      req.socket.destroy()
      return
    }
    if (harm && req.method === 'GET' && roll < rules.failRate + rules.dropRate + rules.truncateRate) {
      faultsPerFile.set(path, faults + 1)
      record(key, 'truncated')
      forward(req, res, (response) => {
        const length = Number(response.headers['content-length'] ?? 0)
        const headers = { ...response.headers }
        delete headers['content-length']
        res.writeHead(response.statusCode ?? 502, headers)
        let sent = 0
        const cutAt = Math.max(1, Math.floor(length / 2))
        response.on('data', (chunk: Buffer) => {
          if (sent >= cutAt) return
          const part = chunk.subarray(0, cutAt - sent)
          sent += part.length
          res.write(part)
          if (sent >= cutAt) {
            res.end() // a well-formed, complete-looking response with half the bytes
            response.destroy()
          }
        })
        response.on('end', () => res.end())
      })
      return
    }
    record(key, 'passed')
    forward(req, res)
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (typeof address !== 'object' || address === null) throw new Error('chaos proxy has no address')
  return {
    url: `http://127.0.0.1:${address.port}`,
    stats,
    log,
    hold(match) {
      holding = match
    },
    release() {
      holding = undefined
      for (const go of held.splice(0)) go()
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
