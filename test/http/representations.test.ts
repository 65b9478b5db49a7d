import t from 'tap'
import { assertIfMatch, CONTENT_CODINGS, isContentCoding, tagInCoding } from '../../src/http/representations.js'

// The codings' list is the one place a coding is named (src/http/representations.ts): the tag of
// every coding in it is accepted by If-Match as the version it codes, and nothing else is.

t.test('If-Match accepts the tag of every listed coding of the current version, and only of a listed one', async (t) => {
  t.ok(CONTENT_CODINGS.length >= 2, 'br and gzip at least')
  for (const coding of CONTENT_CODINGS) {
    t.ok(isContentCoding(coding), `${coding} is a coding`)
    t.equal(tagInCoding('"3"', coding), `"3-${coding}"`)
    t.doesNotThrow(() => assertIfMatch('665f1c2e8b3e4a0012345678', tagInCoding('"3"', coding), 3), `"3-${coding}" matches version 3`)
    t.throws(() => assertIfMatch('665f1c2e8b3e4a0012345678', tagInCoding('"2"', coding), 3), { code: 'PRECONDITION_FAILED' }, `"2-${coding}" does not match version 3`)
  }
  t.notOk(isContentCoding('identity'), 'identity is no coding')
  t.notOk(isContentCoding('zstd'), 'an unlisted coding is none')
  t.throws(() => assertIfMatch('665f1c2e8b3e4a0012345678', '"3-zstd"', 3), { code: 'PRECONDITION_FAILED' }, 'the tag of an unlisted coding is not version 3')
})
