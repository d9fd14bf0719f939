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

/// Rows per decoded batch: a few MB of typical web text, enough to keep a GPU batch full.
pub const BATCH_ROWS: usize = 1024;

/// Opens a Parquet file, projecting `field` and the metadata columns. The error is the reason, to
/// be reported against the file: not Parquet, corrupt footer, missing or non-string column.
pub fn open(
    path: &Path,
    field: &str,
    meta_fields: &[(String, String)],
) -> Result<ParquetRecordBatchReader, String> {
    let f = File::open(path).map_err(|e| e.to_string())?;
    let b = ParquetRecordBatchReaderBuilder::try_new(f)
        .map_err(|e| format!("not a readable parquet file: {e}"))?;
    let schema = b.schema().clone();
    let mut roots = Vec::new();
    for name in std::iter::once(field).chain(meta_fields.iter().map(|(_, c)| c.as_str())) {
        let (i, col) = schema
            .column_with_name(name)
            .ok_or_else(|| format!("no column {name:?}"))?;
        if name == field && !is_string(col.data_type()) {
            return Err(format!(
                "column {name:?} is {}, not a string column",
                col.data_type()
            ));
        }
        roots.push(i);
    }
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

/// Converts row `i` of the metadata columns into JSON values: strings, numbers and booleans as
/// themselves, anything else (dates, timestamps, lists) as Arrow's display string.
pub fn meta_values(
    batch: &RecordBatch,
    meta_fields: &[(String, String)],
    i: usize,
) -> Result<Vec<(String, Value)>, String> {
    let mut out = Vec::with_capacity(meta_fields.len());
    for (key, colname) in meta_fields {
        let col = batch
            .column_by_name(colname)
            .ok_or_else(|| format!("no column {colname:?}"))?;
        if col.is_null(i) {
            continue;
        }
        out.push((key.clone(), value_at(col, i)?));
    }
    Ok(out)
}

fn value_at(col: &ArrayRef, i: usize) -> Result<Value, String> {
    use arrow_array::types::*;
    Ok(match col.data_type() {
        DataType::Utf8 => Value::from(col.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Value::from(col.as_string::<i64>().value(i)),
        DataType::Utf8View => Value::from(col.as_string_view().value(i)),
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
        _ => {
            let fmt = ArrayFormatter::try_new(col.as_ref(), &FormatOptions::default())
                .map_err(|e| e.to_string())?;
            Value::from(fmt.value(i).to_string())
        }
    })
}
