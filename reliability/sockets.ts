import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

// Which TCP connections a process holds, by peer, from Linux's /proc: the soak tells the
// MongoDB driver's pool (which grows to the peak concurrency and keeps its connections, up to
// maxPoolSize) apart from everything else, so that handle growth means a leak and not a pool.

export interface SocketCounts { mongodb: number, redis: number, httpClients: number, other: number }

function socketInodes (pid: number): Set<string> {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (match?.[1]) inodes.add(match[1])
    } catch {
      // closed meanwhile
    }
  }
  return inodes
}

const portOf = (address: string) => Number.parseInt(address.split(':')[1] ?? '', 16)

export function countSockets (pid: number, ports: { http: number, mongodb: number, redis: number }): SocketCounts {
  const inodes = socketInodes(pid)
  const counts: SocketCounts = { mongodb: 0, redis: 0, httpClients: 0, other: 0 }
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      const [local, remote, state, inode] = [fields[1], fields[2], fields[3], fields[9]]
      if (!local || !remote || !inode || !inodes.has(inode) || state !== '01') continue // 01: established
      if (portOf(remote) === ports.mongodb) counts.mongodb++
      else if (portOf(remote) === ports.redis) counts.redis++
      else if (portOf(local) === ports.http) counts.httpClients++
      else counts.other++
    }
  }
  return counts
}
