// BLAKE3 (hash mode only) as two compute passes over a batch of segments.
//
// A segment is a run of whole chunks of one item: either a whole item (its root is computed here,
// ROOT flag set) or a power-of-two-aligned subtree of a larger item (its non-root chaining value is
// computed here and merged on the host). Every segment has at least one chunk: the empty input is
// one empty chunk.
//
// Pass `chunks`: one invocation per chunk of the batch; it writes the chunk's chaining value (or,
// for a one-chunk root segment, the root hash) into `cvs` at the chunk's index in the batch.
// Pass `reduce`: one invocation per segment; it folds the segment's chunk CVs pairwise, level by
// level, in place (an odd last node is promoted unchanged, which is exactly BLAKE3's
// left-complete tree) and writes the result to `outs`.
//
// WGSL has neither u8 nor u64: input is read as vec4<u32> words (every segment starts 16-byte
// aligned in the upload, bytes past a block's length are masked to zero), and the 64-bit chunk
// counter is a (lo, hi) pair with an explicit carry.

struct Segment {
    vec_off: u32,     // offset of the segment's first byte in `input`, in 16-byte units
    len: u32,         // bytes
    counter_lo: u32,  // chunk counter of the segment's first chunk
    counter_hi: u32,
    chunk_base: u32,  // index of the segment's first chunk in this batch
    flags: u32,       // ROOT when the segment is a whole item
}

struct Params {
    num_chunks: u32,
    num_segments: u32,
    pad0: u32,
    pad1: u32,
}

// Cv, the flags, the IV and `compress` come from compress.wgsl, prepended by device.rs.

const WORKGROUP: u32 = 64u;

@group(0) @binding(0) var<storage, read> input: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> segments: array<Segment>;
@group(0) @binding(2) var<storage, read_write> cvs: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> outs: array<vec4<u32>>;
@group(0) @binding(4) var<uniform> params: Params;

fn segment_chunks(len: u32) -> u32 {
    return max(1u, (len + CHUNK_LEN - 1u) / CHUNK_LEN);
}

// Word w of a block keeps only the bytes below `block_len`.
fn keep(word: u32, w: u32, block_len: u32) -> u32 {
    let start = w * 4u;
    if (start + 4u <= block_len) {
        return word;
    }
    if (start >= block_len) {
        return 0u;
    }
    return word & ((1u << (8u * (block_len - start))) - 1u);
}

fn load_block(vec_index: u32, block_len: u32) -> array<u32, 16> {
    var m: array<u32, 16>;
    for (var q = 0u; q < 4u; q++) {
        var v = vec4<u32>(0u);
        // Never read past the block's last byte: the upload ends 16-byte aligned after it.
        if (q * 16u < block_len) {
            v = input[vec_index + q];
        }
        m[q * 4u + 0u] = keep(v.x, q * 4u + 0u, block_len);
        m[q * 4u + 1u] = keep(v.y, q * 4u + 1u, block_len);
        m[q * 4u + 2u] = keep(v.z, q * 4u + 2u, block_len);
        m[q * 4u + 3u] = keep(v.w, q * 4u + 3u, block_len);
    }
    return m;
}

// Index of the segment holding batch chunk `c`: the last one whose chunk_base <= c.
fn find_segment(c: u32) -> u32 {
    var lo = 0u;
    var hi = params.num_segments;
    while (hi - lo > 1u) {
        let mid = lo + (hi - lo) / 2u;
        if (segments[mid].chunk_base <= c) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

fn linear_id(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>) -> u32 {
    return (wid.y * nwg.x + wid.x) * WORKGROUP + lid.x;
}

@compute @workgroup_size(64)
fn chunks(@builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    let c = linear_id(wid, nwg, lid);
    if (c >= params.num_chunks) {
        return;
    }
    let seg = segments[find_segment(c)];
    let j = c - seg.chunk_base;
    let start = j * CHUNK_LEN;
    let chunk_len = min(CHUNK_LEN, seg.len - start);
    let lo = seg.counter_lo + j;
    let counter = vec2<u32>(lo, seg.counter_hi + select(0u, 1u, lo < j));
    let root = (seg.flags & ROOT) != 0u && segment_chunks(seg.len) == 1u;
    let blocks = max(1u, (chunk_len + BLOCK_LEN - 1u) / BLOCK_LEN);
    var cv = Cv(IV_LO, IV_HI);
    for (var b = 0u; b < blocks; b++) {
        let last = b + 1u == blocks;
        let block_len = select(BLOCK_LEN, chunk_len - b * BLOCK_LEN, last);
        var flags = select(0u, CHUNK_START, b == 0u);
        if (last) {
            flags |= CHUNK_END | select(0u, ROOT, root);
        }
        let m = load_block(seg.vec_off + (start + b * BLOCK_LEN) / 16u, block_len);
        cv = compress(cv, m, counter, block_len, flags);
    }
    cvs[2u * c] = cv.lo;
    cvs[2u * c + 1u] = cv.hi;
}

fn parent(left: u32, right: u32, flags: u32) -> Cv {
    let l0 = cvs[2u * left];
    let l1 = cvs[2u * left + 1u];
    let r0 = cvs[2u * right];
    let r1 = cvs[2u * right + 1u];
    let m = array<u32, 16>(l0.x, l0.y, l0.z, l0.w, l1.x, l1.y, l1.z, l1.w,
                           r0.x, r0.y, r0.z, r0.w, r1.x, r1.y, r1.z, r1.w);
    return compress(Cv(IV_LO, IV_HI), m, vec2<u32>(0u, 0u), BLOCK_LEN, flags);
}

@compute @workgroup_size(64)
fn reduce(@builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = linear_id(wid, nwg, lid);
    if (i >= params.num_segments) {
        return;
    }
    let seg = segments[i];
    let base = seg.chunk_base;
    var n = segment_chunks(seg.len);
    while (n > 1u) {
        let pairs = n / 2u;
        for (var k = 0u; k < pairs; k++) {
            var flags = PARENT;
            if (n == 2u && (seg.flags & ROOT) != 0u) {
                flags |= ROOT;
            }
            let p = parent(base + 2u * k, base + 2u * k + 1u, flags);
            cvs[2u * (base + k)] = p.lo;
            cvs[2u * (base + k) + 1u] = p.hi;
        }
        if (n % 2u == 1u) {
            cvs[2u * (base + pairs)] = cvs[2u * (base + n - 1u)];
            cvs[2u * (base + pairs) + 1u] = cvs[2u * (base + n - 1u) + 1u];
        }
        n = pairs + n % 2u;
    }
    outs[2u * i] = cvs[2u * base];
    outs[2u * i + 1u] = cvs[2u * base + 1u];
}
