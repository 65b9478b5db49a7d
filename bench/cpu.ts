import { readFile } from 'node:fs/promises'
import { Redis } from 'ioredis'

// Where the machine's CPU goes during a scenario: the server process (service or ceiling),
// redis-server, and the load generator (autocannon runs in this process). Divided by the
// requests served, it says what one request costs in total, hence the most any server could
// answer on this machine's cores, whatever the load generator measures.

// USER_HZ: the unit of /proc/<pid>/stat's CPU times on Linux.
const CLOCK_TICKS_PER_SECOND = 100

/** CPU seconds (user + system) a process has used, from /proc; undefined off Linux. */
async function processCpuSeconds (pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // The fields after the command name, which is in parentheses and may contain spaces:
    // state is field 3, utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND
  } catch {
    return undefined
  }
}

async function redisCpuSeconds (redis: Redis): Promise<number | undefined> {
  try {
    const info = await redis.info('cpu')
    const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? NaN)
    const seconds = field('used_cpu_user') + field('used_cpu_sys')
    return Number.isFinite(seconds) ? seconds : undefined
  } catch {
    return undefined
  }
}

export interface CpuPerRequest {
  /** Microseconds of CPU per request, by process; absent where it could not be read. */
  server?: number
  redis?: number
  loadGenerator: number
}

export function createCpuMeter (redisUrl: string) {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 })
  return {
    /** Starts measuring; the returned function ends it and divides by the requests served. */
    async start (serverPid: number | undefined): Promise<(requests: number) => Promise<CpuPerRequest>> {
      const server = await processCpuSeconds(serverPid)
      const redisBefore = await redisCpuSeconds(redis)
      const own = process.cpuUsage()
      return async (requests: number) => {
        const ownUsed = process.cpuUsage(own)
        const serverAfter = await processCpuSeconds(serverPid)
        const redisAfter = await redisCpuSeconds(redis)
        const perRequest = (seconds: number) => (seconds * 1e6) / Math.max(requests, 1)
        return {
          ...(server !== undefined && serverAfter !== undefined ? { server: perRequest(serverAfter - server) } : {}),
          ...(redisBefore !== undefined && redisAfter !== undefined ? { redis: perRequest(redisAfter - redisBefore) } : {}),
          loadGenerator: perRequest((ownUsed.user + ownUsed.system) / 1e6)
        }
      }
    },
    close (): void {
      redis.disconnect()
    }
  }
}
