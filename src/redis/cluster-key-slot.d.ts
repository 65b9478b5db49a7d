// cluster-key-slot ships no types: the one function the service uses (the hash slot of a key, as
// Redis Cluster computes it, hash tags included).
declare module 'cluster-key-slot' {
  export default function calculateSlot (key: string | Buffer): number
}
