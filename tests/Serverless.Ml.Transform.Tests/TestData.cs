using Serverless.Ml.Data;
using Serverless.Ml.Data.Csv;
using Serverless.Ml.Onnx.Runtime;
using Serverless.Ml.Onnx.Testing;
using Serverless.Ml.Transform;

namespace Serverless.Ml.Transform.Tests;

/// <summary>Builds small tables and runs the skew check.</summary>
internal static class TestData
{
    /// <summary>A data file of the repository's <c>samples/data</c> folder (a clone needs no sibling folders).</summary>
    public static string Dataset(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln")))
            {
                var candidate = Path.Combine(dir.FullName, "samples", "data", name);
                return File.Exists(candidate) ? candidate : throw new FileNotFoundException($"dataset '{name}' not found in {Path.GetDirectoryName(candidate)}", candidate);
            }
        }
        throw new FileNotFoundException($"Serverless.sln not found above {AppContext.BaseDirectory}");
    }

    public static CsvReader Penguins() => CsvReader.Open(Dataset("penguins.csv"));

    public static Column Doubles(string name, params double?[] values) =>
        new Float64Column(new ColumnSpec(name, ColumnKind.Float64), values.Select(v => v ?? 0).ToArray(), values.Select(v => v is null).ToArray(), values.Length);

    public static Column Longs(string name, params long?[] values) =>
        new Int64Column(new ColumnSpec(name, ColumnKind.Int64), values.Select(v => v ?? 0).ToArray(), values.Select(v => v is null).ToArray(), values.Length);

    public static Column Strings(string name, params string?[] values) =>
        StringColumn.FromValues(new ColumnSpec(name, ColumnKind.String), values);

    public static RecordBatch Batch(params Column[] columns) =>
        new(new TableSchema(columns.Select(c => c.Spec)), columns, columns[0].Length);

    public static TableSchema Schema(params Column[] columns) => new(columns.Select(c => c.Spec));

    /// <summary>Re-labels a batch with a shared schema instance (batches of one reader share theirs).</summary>
    public static RecordBatch WithSchema(TableSchema schema, RecordBatch b) => new(schema, b.Columns, b.RowCount);

    public static FittedTransform Fit(TransformSpec spec, params RecordBatch[] batches) =>
        new TransformEstimator(spec).Fit(batches[0].Schema, batches);

    /// <summary>ORT running the exported graph on raw values equals the in-process transform (1e-5), every row.</summary>
    public static float[] AssertNoSkew(FittedTransform t, RecordBatch batch)
    {
        var expected = t.Apply(batch);
        OnnxWorkout.AssertMatches(t.ExportOnnx(), t.ToOnnxInputs(batch),
            [NamedTensor.Create(FittedTransform.FeaturesOutputName, expected.Features, batch.RowCount, t.Width)]);
        return expected.Features;
    }

    public static float[] Row(float[] features, int width, int row) => features.AsSpan(row * width, width).ToArray();
}
