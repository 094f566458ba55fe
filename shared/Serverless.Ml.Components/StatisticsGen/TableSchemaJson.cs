using System.Text.Json;
using Serverless.Ml.Data;

namespace Serverless.Ml.Components.StatisticsGen;

/// <summary>A small JSON form of a <see cref="TableSchema"/> (name, kind, shape per column) that SchemaGen reads for tensor shapes.</summary>
public static class TableSchemaJson
{
    /// <summary>Serializes a table schema.</summary>
    public static string Write(TableSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        return JsonSerializer.Serialize(schema.Columns.Select(c => new ColumnJson(c.Name, c.Kind.ToString(), [.. c.Shape])).ToList());
    }

    /// <summary>Parses <see cref="Write"/>'s output.</summary>
    /// <exception cref="InvalidDataException">Not a table schema.</exception>
    public static TableSchema Read(string json)
    {
        var columns = JsonSerializer.Deserialize<List<ColumnJson>>(json) ?? throw new InvalidDataException("table schema JSON is null");
        return new TableSchema(columns.Select(c => new ColumnSpec(
            c.Name,
            Enum.TryParse<ColumnKind>(c.Kind, out var kind) ? kind : throw new InvalidDataException($"unknown column kind '{c.Kind}'"),
            c.Shape)));
    }

    private sealed record ColumnJson(string Name, string Kind, int[] Shape);
}
