//! The `parquet` mode: one item per row, the UTF-8 bytes of one string column (`--field`), with
//! other columns mappable into metadata. Only the needed columns are decoded (projection), in
//! batches of rows, so memory follows the batch size, not the file size.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use serde_json::Value;

use crate::meta::MetaField;

/// Rows per decoded batch: a few MB of typical web text, enough to keep a GPU batch full.
pub const BATCH_ROWS: usize = 1024;

/// Opens a Parquet file, projecting `field` and the top-level columns the metadata paths start
/// in. The error is the reason, to be reported against the file: not Parquet, corrupt footer,
/// missing or non-string column, a path through something that is not a struct. A preset's
/// (optional) field whose column is missing is left out instead.
pub fn open(
    path: &Path,
    field: &str,
    meta_fields: &[MetaField],
) -> Result<ParquetRecordBatchReader, String> {
    #[cfg(feature = "object-store")]
    if let Some(o) = crate::object::parquet_input(path).map_err(|e| e.to_string())? {
        return open_input(o, field, meta_fields); // s3://... (crate::object): ranged reads
    }
    let f = File::open(path).map_err(|e| e.to_string())?;
    open_input(f, field, meta_fields)
}

/// [`open`] on any random-access input (a file, an object in a store).
fn open_input<T: parquet::file::reader::ChunkReader + 'static>(
    f: T,
    field: &str,
    meta_fields: &[MetaField],
) -> Result<ParquetRecordBatchReader, String> {
    let b = ParquetRecordBatchReaderBuilder::try_new(f)
        .map_err(|e| format!("not a readable parquet file: {e}"))?;
    let schema = b.schema().clone();
    let (i, col) = schema
        .column_with_name(field)
        .ok_or_else(|| format!("no column {field:?}"))?;
    if !is_string(col.data_type()) {
        return Err(format!(
            "column {field:?} is {}, not a string column",
            col.data_type()
        ));
    }
    let mut roots = vec![i];
    for mf in meta_fields {
        let segs = mf.path.segments();
        let Some((i, col)) = schema.column_with_name(&segs[0]) else {
            if mf.optional {
                continue;
            }
            return Err(format!("no column {:?}", segs[0]));
        };
        let mut t = col.data_type();
        for seg in &segs[1..] {
            let child = match t {
                DataType::Struct(fs) => fs.iter().find(|f| f.name() == seg),
                _ => None,
            };
            match child {
                Some(c) => t = c.data_type(),
                None if mf.optional => break,
                None => return Err(format!("column {} has no struct field {seg:?}", mf.path)),
            }
        }
        roots.push(i);
    }
    roots.sort_unstable();
    roots.dedup();
    let mask = ProjectionMask::roots(b.parquet_schema(), roots);
    b.with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| format!("cannot read parquet file: {e}"))
}

fn is_string(t: &DataType) -> bool {
    match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, v) => is_string(v),
        _ => false,
    }
}

/// One batch's text column, whatever its string representation.
pub struct TextColumn {
    array: ArrayRef,
}

impl TextColumn {
    pub fn new(batch: &RecordBatch, field: &str) -> Result<Self, String> {
        let col = batch
            .column_by_name(field)
            .ok_or_else(|| format!("no column {field:?}"))?;
        let array = match col.data_type() {
            DataType::Dictionary(_, _) => arrow_cast::cast(col, &DataType::Utf8)
                .map_err(|e| format!("column {field:?}: {e}"))?,
            _ => Arc::clone(col),
        };
        Ok(TextColumn { array })
    }

    /// Row `i`'s text, `None` when null.
    pub fn get(&self, i: usize) -> Option<&str> {
        if self.array.is_null(i) {
            return None;
        }
        match self.array.data_type() {
            DataType::Utf8 => Some(self.array.as_string::<i32>().value(i)),
            DataType::LargeUtf8 => Some(self.array.as_string::<i64>().value(i)),
            DataType::Utf8View => Some(self.array.as_string_view().value(i)),
            _ => None,
        }
    }
}

/// The raw values of row `i` at the metadata paths (`(index into meta_fields, value)`): strings,
/// integers, floats and booleans as themselves, timestamps as RFC 3339 UTC strings, dates as
/// RFC 3339 full dates, anything else (lists, maps, whole structs) as Arrow's display string.
/// A null anywhere along a path, or a missing column of an optional field, leaves the value out.
pub fn meta_values(
    batch: &RecordBatch,
    meta_fields: &[MetaField],
    i: usize,
) -> Result<Vec<(usize, Value)>, String> {
    let mut out = Vec::with_capacity(meta_fields.len());
    'fields: for (k, mf) in meta_fields.iter().enumerate() {
        let segs = mf.path.segments();
        let Some(mut col) = batch.column_by_name(&segs[0]) else {
            if mf.optional {
                continue;
            }
            return Err(format!("no column {:?}", segs[0]));
        };
        for seg in &segs[1..] {
            if col.is_null(i) {
                continue 'fields;
            }
            let child = match col.data_type() {
                DataType::Struct(_) => col.as_struct().column_by_name(seg),
                _ => None,
            };
            match child {
                Some(c) => col = c,
                None if mf.optional => continue 'fields,
                None => return Err(format!("column {} has no struct field {seg:?}", mf.path)),
            }
        }
        if col.is_null(i) {
            continue;
        }
        out.push((k, value_at(col, i)?));
    }
    Ok(out)
}

fn value_at(col: &ArrayRef, i: usize) -> Result<Value, String> {
    use arrow_array::types::*;
    use arrow_schema::TimeUnit;
    Ok(match col.data_type() {
        DataType::Utf8 => Value::from(col.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Value::from(col.as_string::<i64>().value(i)),
        DataType::Utf8View => Value::from(col.as_string_view().value(i)),
        DataType::Dictionary(_, v) if is_string(v) => {
            let one =
                arrow_cast::cast(&col.slice(i, 1), &DataType::Utf8).map_err(|e| e.to_string())?;
            Value::from(one.as_string::<i32>().value(0))
        }
        DataType::Boolean => Value::from(col.as_boolean().value(i)),
        DataType::Int8 => Value::from(col.as_primitive::<Int8Type>().value(i)),
        DataType::Int16 => Value::from(col.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => Value::from(col.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => Value::from(col.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => Value::from(col.as_primitive::<UInt8Type>().value(i)),
        DataType::UInt16 => Value::from(col.as_primitive::<UInt16Type>().value(i)),
        DataType::UInt32 => Value::from(col.as_primitive::<UInt32Type>().value(i)),
        DataType::UInt64 => Value::from(col.as_primitive::<UInt64Type>().value(i)),
        DataType::Float32 => Value::from(f64::from(col.as_primitive::<Float32Type>().value(i))),
        DataType::Float64 => Value::from(col.as_primitive::<Float64Type>().value(i)),
        DataType::Timestamp(unit, _) => {
            // Arrow stores an instant since the epoch in UTC whether or not a zone is named; a
            // timestamp without a zone (C4's `timestamp[us]`) is read as UTC too.
            let (v, per_sec) = match unit {
                TimeUnit::Second => (col.as_primitive::<TimestampSecondType>().value(i), 1),
                TimeUnit::Millisecond => (
                    col.as_primitive::<TimestampMillisecondType>().value(i),
                    1_000,
                ),
                TimeUnit::Microsecond => (
                    col.as_primitive::<TimestampMicrosecondType>().value(i),
                    1_000_000,
                ),
                TimeUnit::Nanosecond => (
                    col.as_primitive::<TimestampNanosecondType>().value(i),
                    1_000_000_000,
                ),
            };
            Value::from(rfc3339(v, per_sec))
        }
        DataType::Date32 => {
            let days = i64::from(col.as_primitive::<Date32Type>().value(i));
            Value::from(full_date(days))
        }
        DataType::Date64 => {
            let ms = col.as_primitive::<Date64Type>().value(i);
            Value::from(full_date(ms.div_euclid(86_400_000)))
        }
        _ => {
            let fmt = ArrayFormatter::try_new(col.as_ref(), &FormatOptions::default())
                .map_err(|e| e.to_string())?;
            Value::from(fmt.value(i).to_string())
        }
    })
}

/// `value / per_sec` seconds after 1970-01-01T00:00:00Z as RFC 3339 in UTC: `Z`, and a fraction
/// only when it is not zero, without trailing zeros (one spelling per instant).
pub fn rfc3339(value: i64, per_sec: i64) -> String {
    let secs = value.div_euclid(per_sec);
    let frac = value.rem_euclid(per_sec);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let mut s = format!(
        "{}T{:02}:{:02}:{:02}",
        full_date(days),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if frac != 0 {
        let digits = per_sec.ilog10() as usize;
        let f = format!("{frac:0digits$}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Days since 1970-01-01 as `YYYY-MM-DD` (proleptic Gregorian; H. Hinnant's `civil_from_days`).
pub fn full_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0, 1), "1970-01-01T00:00:00Z");
        // 2019-04-25T12:57:54Z, a C4 crawl time, in microseconds.
        assert_eq!(
            rfc3339(1_556_197_074_000_000, 1_000_000),
            "2019-04-25T12:57:54Z"
        );
        assert_eq!(
            rfc3339(1_556_197_074_250_000, 1_000_000),
            "2019-04-25T12:57:54.25Z"
        );
        assert_eq!(rfc3339(-1, 1_000), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339(951_782_400, 1), "2000-02-29T00:00:00Z");
        assert_eq!(full_date(19_000), "2022-01-08");
    }
}
