using System.Globalization;
using Serverless.Ml.Data.Columnar;
using Serverless.Ml.Data;
using Serverless.Ml.Onnx;
using Serverless.Ml.Onnx.Runtime;
using Serverless.Pipelines;

namespace Serverless.Ml.Components.Evaluator;

/// <summary>
/// The rows of one split of an Examples artifact, read from its columnar shards (<c>Split-{split}/*.smlc</c>), and the
/// conversion of those rows into a model's raw inputs: each input is a feature column <c>[batch, 1]</c> of the model's
/// element type, missing numbers as NaN (the graph imputes them), missing text as "".
/// </summary>
internal sealed class EvalExamples
{
    private EvalExamples(IReadOnlyList<RecordBatch> batches)
    {
        Batches = batches;
        RowCount = batches.Sum(b => b.RowCount);
    }

    public IReadOnlyList<RecordBatch> Batches { get; }

    public int RowCount { get; }

    /// <summary>Copies the split's shards to <paramref name="scratch"/> and reads them whole (an eval split fits in memory).</summary>
    public static async Task<EvalExamples> LoadAsync(InputArtifact examples, string split, string scratch, CancellationToken cancellation)
    {
        var prefix = $"Split-{split}/";
        var shards = examples.Files.Select(f => f.Path)
            .Where(p => p.StartsWith(prefix, StringComparison.Ordinal) && p.EndsWith(ColumnarFormat.Extension, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();
        if (shards.Count == 0)
        {
            var splits = examples.Files.Select(f => f.Path.Split('/')[0]).Where(s => s.StartsWith("Split-", StringComparison.Ordinal)).Distinct().Select(s => s[6..]);
            throw new InvalidDataException($"examples '{examples.Artifact.Uri}' have no columnar shard for split '{split}' (splits: {string.Join(", ", splits)})");
        }

        var local = new List<string>();
        foreach (var shard in shards)
        {
            local.Add(await ArtifactFiles.DownloadAsync(examples, shard, scratch, cancellation).ConfigureAwait(false));
        }

        var reader = new ColumnarReader(local);
        return new EvalExamples(reader.ReadBatches(cancellation).ToList());
    }

    /// <summary>The model's inputs for one batch.</summary>
    /// <exception cref="InvalidDataException">A model input has no column of that name, or a column cannot feed it.</exception>
    public static IReadOnlyList<NamedTensor> ToInputs(RecordBatch batch, IReadOnlyList<NodeMetadata> inputs)
    {
        var rows = batch.RowCount;
        var result = new List<NamedTensor>(inputs.Count);
        foreach (var input in inputs)
        {
            if (batch.Schema.IndexOf(input.Name) < 0)
            {
                throw new InvalidDataException($"the model input '{input.Name}' is not a column of the examples (columns: {batch.Schema})");
            }

            var column = batch[input.Name];
            var m = column.Missing;
            NamedTensor tensor = (input.ElementType, column) switch
            {
                (OnnxElementType.Float, Float64Column d) => NamedTensor.Create(input.Name, Enumerable.Range(0, rows).Select(i => m[i] ? float.NaN : (float)d.Values[i]).ToArray(), rows, 1),
                (OnnxElementType.Float, Int64Column l) => NamedTensor.Create(input.Name, Enumerable.Range(0, rows).Select(i => m[i] ? float.NaN : l.Values[i]).ToArray(), rows, 1),
                (OnnxElementType.Double, Float64Column d) => NamedTensor.Create(input.Name, Enumerable.Range(0, rows).Select(i => m[i] ? double.NaN : d.Values[i]).ToArray(), rows, 1),
                (OnnxElementType.Double, Int64Column l) => NamedTensor.Create(input.Name, Enumerable.Range(0, rows).Select(i => m[i] ? double.NaN : l.Values[i]).ToArray(), rows, 1),
                (OnnxElementType.Int64, Int64Column l) => NamedTensor.Create(input.Name, Enumerable.Range(0, rows).Select(i => m[i] ? long.MinValue : l.Values[i]).ToArray(), rows, 1),
                (OnnxElementType.Int64, Float64Column d) => NamedTensor.Create(input.Name, Enumerable.Range(0, rows).Select(i => m[i] ? long.MinValue : (long)d.Values[i]).ToArray(), rows, 1),
                (OnnxElementType.String, StringColumn s) => NamedTensor.Create(input.Name, Enumerable.Range(0, rows).Select(i => s.GetString(i) ?? "").ToArray(), rows, 1),
                (OnnxElementType.Float, Float32TensorColumn t) => NamedTensor.Create(input.Name, t.Values.AsSpan(0, rows * t.Spec.ValuesPerRow).ToArray(), [rows, .. t.Spec.Shape.Select(x => (long)x)]),
                _ => throw new InvalidDataException($"the model input '{input.Name}' ({input.ElementType}) cannot be fed from the {column.Spec.Kind} column of that name"),
            };
            result.Add(tensor);
        }

        return result;
    }

    /// <summary>A cell as slice text: numbers in invariant culture, "(missing)" for a missing value.</summary>
    public static string SliceValue(Column column, int row) => column.GetValue(row) switch
    {
        null => "(missing)",
        double d => d.ToString(CultureInfo.InvariantCulture),
        long l => l.ToString(CultureInfo.InvariantCulture),
        string s => s,
        var other => other.ToString() ?? "",
    };
}
