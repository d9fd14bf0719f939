// A sorted set's Merkle tree (verifier/src/set/build.rs: RFC 6962 shape, BLAKE3 with 0x00/0x01
// domain separation, built level by level with an odd last node promoted unchanged).
//
// Pass `leaves`: one invocation per 72-byte leaf writes BLAKE3(0x00 || leaf).
// Pass `nodes`: one invocation per output node of a level writes BLAKE3(0x01 || left || right),
// or copies an odd last node up. Each level is its own pass (wgpu orders the writes of one
// pass before the reads of the next); `src` and `dst` alternate between two buffers.
//
// Both messages are one prefix byte and whole words (73 and 65 bytes: two blocks, one chunk, the
// root of their own tree), so word w of the message is the top byte of source word w-1 (or the
// prefix) and the low three bytes of source word w, shifted up.

struct Level {
    n: u32,        // inputs of this pass: leaves, or nodes of the level below
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

const WORKGROUP: u32 = 64u;
const LEAF_WORDS: u32 = 18u;   // 72 bytes
const DIGEST_WORDS: u32 = 8u;

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<uniform> level: Level;

fn linear_id(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    return (wid.y * nwg.x + wid.x) * WORKGROUP + lid.x;
}

// Word w of `prefix || src[base .. base + nwords]` (zero past its end).
fn msg_word(base: u32, nwords: u32, prefix: u32, w: u32) -> u32 {
    if (w > nwords) {
        return 0u;
    }
    var lo = prefix;
    if (w > 0u) {
        lo = src[base + w - 1u] >> 24u;
    }
    var hi = 0u;
    if (w < nwords) {
        hi = src[base + w] << 8u;
    }
    return lo | hi;
}

// BLAKE3 of `prefix || src[base .. base + nwords]`: 1 + 4 * nwords bytes, 65 to 127.
fn hash_prefixed(base: u32, nwords: u32, prefix: u32) -> Cv {
    var m: array<u32, 16>;
    for (var w = 0u; w < 16u; w++) {
        m[w] = msg_word(base, nwords, prefix, w);
    }
    let cv = compress(Cv(IV_LO, IV_HI), m, vec2<u32>(0u, 0u), BLOCK_LEN, CHUNK_START);
    let rest = 1u + 4u * nwords - BLOCK_LEN;
    var m2: array<u32, 16>;
    for (var w = 0u; w < 16u; w++) {
        m2[w] = msg_word(base, nwords, prefix, 16u + w);
    }
    return compress(cv, m2, vec2<u32>(0u, 0u), rest, CHUNK_END | ROOT);
}

fn store(i: u32, cv: Cv) {
    let o = i * DIGEST_WORDS;
    dst[o] = cv.lo.x;
    dst[o + 1u] = cv.lo.y;
    dst[o + 2u] = cv.lo.z;
    dst[o + 3u] = cv.lo.w;
    dst[o + 4u] = cv.hi.x;
    dst[o + 5u] = cv.hi.y;
    dst[o + 6u] = cv.hi.z;
    dst[o + 7u] = cv.hi.w;
}

@compute @workgroup_size(64)
fn leaves(@builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= level.n) {
        return;
    }
    store(i, hash_prefixed(i * LEAF_WORDS, LEAF_WORDS, 0u));
}

@compute @workgroup_size(64)
fn nodes(@builtin(workgroup_id) wid: vec3<u32>,
         @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= (level.n + 1u) / 2u) {
        return;
    }
    let left = 2u * i;
    if (left + 1u < level.n) {
        store(i, hash_prefixed(left * DIGEST_WORDS, 2u * DIGEST_WORDS, 1u));
    } else {
        let s = left * DIGEST_WORDS;
        for (var k = 0u; k < DIGEST_WORDS; k++) {
            dst[i * DIGEST_WORDS + k] = src[s + k];
        }
    }
}
