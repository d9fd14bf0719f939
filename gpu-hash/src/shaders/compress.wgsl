// BLAKE3's compression function and constants, shared by `blake3.wgsl` and `settree.wgsl` (each
// module is this file followed by its own).

struct Cv {
    lo: vec4<u32>,
    hi: vec4<u32>,
}

const CHUNK_START: u32 = 1u;
const CHUNK_END: u32 = 2u;
const PARENT: u32 = 4u;
const ROOT: u32 = 8u;
const CHUNK_LEN: u32 = 1024u;
const BLOCK_LEN: u32 = 64u;
const IV_LO: vec4<u32> = vec4<u32>(0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au);
const IV_HI: vec4<u32> = vec4<u32>(0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u);

fn rotr(x: vec4<u32>, n: u32) -> vec4<u32> {
    return (x >> vec4<u32>(n)) | (x << vec4<u32>(32u - n));
}

// The four G functions of a column (or, after rotating rows, diagonal) step, side by side.
struct Rows {
    a: vec4<u32>,
    b: vec4<u32>,
    c: vec4<u32>,
    d: vec4<u32>,
}

fn g4(s: Rows, mx: vec4<u32>, my: vec4<u32>) -> Rows {
    var r = s;
    r.a = r.a + r.b + mx;
    r.d = rotr(r.d ^ r.a, 16u);
    r.c = r.c + r.d;
    r.b = rotr(r.b ^ r.c, 12u);
    r.a = r.a + r.b + my;
    r.d = rotr(r.d ^ r.a, 8u);
    r.c = r.c + r.d;
    r.b = rotr(r.b ^ r.c, 7u);
    return r;
}

fn permute(m: array<u32, 16>) -> array<u32, 16> {
    return array<u32, 16>(m[2], m[6], m[3], m[10], m[7], m[0], m[4], m[13],
                          m[1], m[11], m[12], m[5], m[9], m[14], m[15], m[8]);
}

// The compression function, truncated to the 8-word chaining value (all that hash mode needs).
fn compress(cv: Cv, block: array<u32, 16>, counter: vec2<u32>, block_len: u32, flags: u32) -> Cv {
    var s = Rows(cv.lo, cv.hi, IV_LO, vec4<u32>(counter.x, counter.y, block_len, flags));
    var m = block;
    for (var round = 0u; round < 7u; round++) {
        s = g4(s, vec4<u32>(m[0], m[2], m[4], m[6]), vec4<u32>(m[1], m[3], m[5], m[7]));
        // Diagonals: rotate rows b, c, d left by 1, 2, 3 lanes, mix, rotate back.
        var t = Rows(s.a, s.b.yzwx, s.c.zwxy, s.d.wxyz);
        t = g4(t, vec4<u32>(m[8], m[10], m[12], m[14]), vec4<u32>(m[9], m[11], m[13], m[15]));
        s = Rows(t.a, t.b.wxyz, t.c.zwxy, t.d.yzwx);
        m = permute(m);
    }
    return Cv(s.a ^ s.c, s.b ^ s.d);
}
