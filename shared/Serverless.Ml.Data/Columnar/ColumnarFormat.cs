using System.Text.Json;

namespace Serverless.Ml.Data.Columnar;

/// <summary>
/// Our internal columnar file format (<c>.smlc</c>), written by ExampleGen beside the TFRecord shards so that our own
/// components read data without protobuf decoding. Layout (all little-endian):
/// <code>
/// "SMLCOL01" | u32 schemaLength | schema JSON (UTF-8)
/// then per batch: u32 payloadLength | u32 masked CRC-32C of payload | payload
/// payload: i32 rows, then per column: missing bitmap ((rows+7)/8 bytes, bit set = missing), then values:
///   Int64/Float64: rows x 8 bytes | Float32Tensor: rows x valuesPerRow x 4 bytes
///   String: i32 dictionaryCount, per entry i32 byteLength + UTF-8 bytes, then rows x i32 codes
///   Bytes: per row i32 length (-1 when missing) + bytes
/// </code>
/// The file ends after the last complete frame; a short frame or a CRC mismatch is an error naming the offset.
/// </summary>
public static class ColumnarFormat
{
    /// <summary>File extension.</summary>
    public const string Extension = ".smlc";

    internal static readonly byte[] Magic = "SMLCOL01"u8.ToArray();

    internal sealed record ColumnDto(string Name, ColumnKind Kind, int[] Shape);

    internal static byte[] SchemaJson(TableSchema schema) =>
        JsonSerializer.SerializeToUtf8Bytes(schema.Columns.Select(c => new ColumnDto(c.Name, c.Kind, c.Shape.ToArray())).ToArray());

    internal static TableSchema ParseSchema(ReadOnlySpan<byte> json)
    {
        var cols = JsonSerializer.Deserialize<ColumnDto[]>(json) ?? throw new InvalidDataException("columnar schema is null");
        return new TableSchema(cols.Select(c => new ColumnSpec(c.Name, c.Kind, c.Shape ?? [])));
    }
}
