//! Timings of the pipeline's parts, for `bench/gpu.sh` (the `gpubench` example). They live in the
//! library because they need the ring's own buffers: an upload figure from any other buffer would
//! not be the bandwidth the ring gets.

use std::time::{Duration, Instant};

use crate::merge::Plan;
use crate::ring::chunk_count;
use crate::{Error, GpuHasher, OUT_LEN};

/// Bytes moved or hashed in a time.
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    pub bytes: u64,
    pub elapsed: Duration,
}

impl Measured {
    /// Decimal gigabytes per second.
    pub fn gb_per_s(&self) -> f64 {
        self.bytes as f64 / self.elapsed.as_secs_f64().max(1e-12) / 1e9
    }
}

impl GpuHasher {
    /// Host-to-device copy bandwidth: one full staging buffer of the ring (host-visible memory, as
    /// every batch uses) copied to its device-local input buffer `reps` times, one submission.
    pub fn measure_upload(&self, reps: u32) -> Result<Measured, Error> {
        let ring = self.lock_ring()?;
        let slot = &ring.slots[0];
        let bytes = ring.cap_in as u64;
        crate::ring::map(&self.gpu, &slot.staging, wgpu::MapMode::Write)?;
        slot.staging.slice(..).get_mapped_range_mut().fill(0x5a);
        slot.staging.unmap();
        let time = || -> Result<Duration, Error> {
            let start = Instant::now();
            let mut enc = self.encoder();
            for _ in 0..reps {
                enc.copy_buffer_to_buffer(&slot.staging, 0, &slot.input, 0, bytes);
            }
            let submission = self.gpu.queue.submit([enc.finish()]);
            self.gpu.wait(submission)?;
            Ok(start.elapsed())
        };
        time()?; // first touch: page faults, lazy allocation
        Ok(Measured {
            bytes: bytes * u64::from(reps),
            elapsed: time()?,
        })
    }

    /// Kernel throughput on device-resident data: one full batch of `data` (a prefix of it as long
    /// as a batch, hashed as subtrees of one large input) is uploaded once, then hashed `reps`
    /// times in one submission. Returns the timing and the batch's chaining values, so a caller
    /// can check them.
    pub fn measure_kernels(
        &self,
        data: &[u8],
        reps: u32,
    ) -> Result<(Measured, Vec<[u8; OUT_LEN]>), Error> {
        let ring = self.lock_ring()?;
        let seg_len = ring.segment_bytes();
        if data.len() < seg_len {
            return Err(Error::Config(format!(
                "measuring needs {seg_len} bytes or more"
            )));
        }
        let len = data.len().min(ring.cap_in) / seg_len * seg_len;
        let mut plan = Plan::default();
        plan.add_subtree(&data[..len], 0, seg_len);
        let segs = &plan.segments;
        let chunks: usize = segs.iter().map(|s| chunk_count(s.data.len())).sum();
        // Upload once through the normal path (which also hashes once).
        let mut cvs = vec![[0u8; OUT_LEN]; segs.len()];
        let job = ring.submit(&self.gpu, 0, segs, 0)?;
        if job.count != segs.len() {
            return Err(Error::Config(
                "measurement data does not fit one batch".into(),
            ));
        }
        ring.harvest(&self.gpu, job, &mut cvs)?;
        let time = || -> Result<Duration, Error> {
            let start = Instant::now();
            let mut enc = self.encoder();
            for _ in 0..reps {
                ring.encode_kernels(&self.gpu, &mut enc, 0, chunks as u32, segs.len() as u32)?;
            }
            let submission = self.gpu.queue.submit([enc.finish()]);
            self.gpu.wait(submission)?;
            Ok(start.elapsed())
        };
        time()?;
        let measured = Measured {
            bytes: segs.iter().map(|s| s.data.len() as u64).sum::<u64>() * u64::from(reps),
            elapsed: time()?,
        };
        Ok((measured, cvs))
    }

    fn encoder(&self) -> wgpu::CommandEncoder {
        self.gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("measure"),
            })
    }
}
