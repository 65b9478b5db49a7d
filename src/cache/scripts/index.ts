import type { LuaScript } from '../../redis/lua-script.js'
import { announceChangeScript } from '../changes.js'
import { bumpGenerationsScript } from './bump-generations.js'
import { fillCompressedCopyScript } from './fill-compressed-copy.js'
import { fillIfGenerationScript } from './fill-if-generation.js'

/** Every script the cache runs, registered on the service's client where it is made. */
export const CACHE_SCRIPTS: readonly LuaScript[] = [
  fillIfGenerationScript, bumpGenerationsScript, fillCompressedCopyScript, announceChangeScript
]
