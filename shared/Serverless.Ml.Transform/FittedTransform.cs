using System.Buffers;
using System.Text.Json;
using Serverless.Ml.Data;
using Serverless.Ml.Data.Columnar;
using Serverless.Ml.Onnx.Runtime;

namespace Serverless.Ml.Transform;

/// <summary>
/// The transformer half of the estimator/transformer split: frozen parameters from <see cref="TransformEstimator.Fit(IRecordBatchReader, CancellationToken)"/>.
/// Its output layout (<see cref="Layout"/>, <see cref="Width"/>) is known before any data flows. It applies the
/// transform in process (<see cref="Apply"/>, <see cref="WriteExamples"/>) and exports the same computation as an
/// ONNX graph (<see cref="ExportOnnx"/>); the skew tests hold the two equal within 1e-5. Immutable and thread-safe.
/// </summary>
public sealed partial class FittedTransform
{
    /// <summary>File name of the fitted parameters inside a transform artifact.</summary>
    public const string ParametersFileName = "transform_fn.json";

    /// <summary>File name of the ONNX graph inside a transform artifact.</summary>
    public const string OnnxFileName = "transform.onnx";

    /// <summary>Name of the output matrix in the ONNX graph (what the Trainer's model takes as input).</summary>
    public const string FeaturesOutputName = "features";

    /// <summary>Name of the label column in transformed examples.</summary>
    public const string LabelColumnName = "label";

    private readonly Dictionary<string, int> _featureIndex;

    /// <summary>Creates a fitted transform from its parameters (see <see cref="FromJson"/> to load one).</summary>
    public FittedTransform(TransformSpec spec, IReadOnlyList<FittedFeature> features, FittedLabel? label, IReadOnlyList<ColumnSpec> rawInputs)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(rawInputs);
        Spec = spec;
        Features = features;
        Label = label;
        RawInputs = rawInputs;
        _featureIndex = features.Select((f, i) => (f.Spec.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        Width = features.Sum(f => f.Width);
        Layout = features.Where(f => f.Spec.Output).Select(f => new OutputColumn(f.Spec.Name, f.Spec.Kind, f.Offset, f.Width, f.IsCategorical ? f.Spec.Encode : null)).ToArray();
    }

    /// <summary>The spec it was fitted from.</summary>
    public TransformSpec Spec { get; }

    /// <summary>Fitted parameters per feature, in spec order.</summary>
    public IReadOnlyList<FittedFeature> Features { get; }

    /// <summary>The fitted label, or null.</summary>
    public FittedLabel? Label { get; }

    /// <summary>The raw columns the serving graph takes, in input order (the label is not among them).</summary>
    public IReadOnlyList<ColumnSpec> RawInputs { get; }

    /// <summary>Columns of the output matrix.</summary>
    public int Width { get; }

    /// <summary>Which columns belong to which feature, in order.</summary>
    public IReadOnlyList<OutputColumn> Layout { get; }

    /// <summary>A feature's fitted parameters by name.</summary>
    public FittedFeature GetFeature(string name) =>
        _featureIndex.TryGetValue(name, out var i) ? Features[i] : throw new KeyNotFoundException($"no feature '{name}'");

    /// <summary>Transforms one batch in process. The batch needs the raw inputs (and the label column, if any, for labels).</summary>
    public TransformedBatch Apply(RecordBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var rows = batch.RowCount;
        var output = new float[(long)rows * Width];
        var indices = new long[Features.Count][];
        var scratch = ArrayPool<double>.Shared.Rent(Math.Max(1, rows));
        try
        {
            for (var f = 0; f < Features.Count; f++)
            {
                var feature = Features[f];
                if (feature.IsCategorical)
                {
                    indices[f] = FeatureMath.Indices(feature, feature.Spec.Kind == FeatureKind.Cross ? null : Column(batch, feature.Spec.Column), scratch,
                        feature.Spec.Kind == FeatureKind.Cross ? feature.Spec.Components!.Select(c => indices[_featureIndex[c]]).ToArray() : null,
                        feature.Spec.Kind == FeatureKind.Cross ? feature.Spec.Components!.Select(c => Features[_featureIndex[c]].Cardinality).ToArray() : null);
                    if (feature.Spec.Output) FeatureMath.WriteCategorical(feature, indices[f], rows, output, Width);
                }
                else if (feature.Spec.Kind == FeatureKind.Image)
                {
                    FeatureMath.WriteImage(feature, (Float32TensorColumn)Column(batch, feature.Spec.Column), output, Width);
                }
                else
                {
                    FeatureMath.WriteNumeric(feature, Column(batch, feature.Spec.Column), scratch, output, Width);
                }
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(scratch);
        }
        float[]? labels = null;
        if (Label is not null && batch.Schema.IndexOf(Label.Spec.Input) >= 0) labels = FeatureMath.Labels(Label, batch[Label.Spec.Input]);
        return new TransformedBatch(rows, Width, output, labels);
    }

    /// <summary>
    /// The ONNX inputs for a batch: one tensor per raw input, [rows, 1] (images [rows, shape...]), with the serving
    /// conventions for missing values (NaN for doubles and images, long.MinValue for int64, "" for strings).
    /// </summary>
    public IReadOnlyList<NamedTensor> ToOnnxInputs(RecordBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var rows = batch.RowCount;
        var result = new List<NamedTensor>(RawInputs.Count);
        foreach (var spec in RawInputs)
        {
            var col = Column(batch, spec.Name);
            var m = col.Missing;
            switch (col)
            {
                case Float64Column d:
                    var dv = new double[rows];
                    for (var i = 0; i < rows; i++) dv[i] = m[i] ? double.NaN : d.Values[i];
                    result.Add(NamedTensor.Create(spec.Name, dv, rows, 1));
                    break;
                case Int64Column l:
                    var lv = new long[rows];
                    for (var i = 0; i < rows; i++) lv[i] = m[i] ? ColumnValues.MissingInt64 : l.Values[i];
                    result.Add(NamedTensor.Create(spec.Name, lv, rows, 1));
                    break;
                case StringColumn s:
                    var sv = new string[rows];
                    for (var i = 0; i < rows; i++) sv[i] = s.GetString(i) ?? "";
                    result.Add(NamedTensor.Create(spec.Name, sv, rows, 1));
                    break;
                case Float32TensorColumn t:
                    var per = spec.ValuesPerRow;
                    var tv = new float[(long)rows * per];
                    t.Values.AsSpan(0, rows * per).CopyTo(tv);
                    for (var i = 0; i < rows; i++) if (m[i]) tv.AsSpan(i * per, per).Fill(float.NaN);
                    result.Add(NamedTensor.Create(spec.Name, tv, [rows, .. spec.Shape.Select(x => (long)x)]));
                    break;
                default:
                    throw new InvalidOperationException($"column '{spec.Name}' of kind {col.Spec.Kind} cannot be an ONNX input");
            }
        }
        return result;
    }

    /// <summary>
    /// Transforms a whole split and writes it as a columnar file (<c>.smlc</c>, see README): column <c>features</c>
    /// (Float32Tensor [Width]) and, with a label, column <c>label</c> (Int64 class index or Float64 target).
    /// Streams batch by batch. Returns the number of rows written.
    /// </summary>
    public long WriteExamples(IRecordBatchReader source, string path, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var schema = ExamplesSchema();
        using var writer = new ColumnarWriter(path, schema);
        foreach (var batch in source.ReadBatches(cancellation))
        {
            cancellation.ThrowIfCancellationRequested();
            var t = Apply(batch);
            var cols = new List<Column> { new Float32TensorColumn(schema.Columns[0], t.Features, new bool[t.Rows], t.Rows) };
            if (Label is not null)
            {
                var labels = t.Labels ?? throw new InvalidDataException($"the data has no label column '{Label.Spec.Input}'");
                if (Label.Spec.Kind == LabelKind.Classification)
                    cols.Add(new Int64Column(schema.Columns[1], labels.Select(v => (long)v).ToArray(), labels.Select(v => v < 0).ToArray(), t.Rows));
                else
                    cols.Add(new Float64Column(schema.Columns[1], labels.Select(v => float.IsNaN(v) ? 0 : (double)v).ToArray(), labels.Select(float.IsNaN).ToArray(), t.Rows));
            }
            writer.Write(new RecordBatch(schema, cols, t.Rows));
        }
        return writer.RowCount;
    }

    /// <summary>The schema of transformed examples files.</summary>
    public TableSchema ExamplesSchema()
    {
        var cols = new List<ColumnSpec> { new(FeaturesOutputName, ColumnKind.Float32Tensor, [Width]) };
        if (Label is not null) cols.Add(new ColumnSpec(LabelColumnName, Label.Spec.Kind == LabelKind.Classification ? ColumnKind.Int64 : ColumnKind.Float64));
        return new TableSchema(cols);
    }

    /// <summary>Serializes the fitted parameters (spec, per-feature parameters, label, raw inputs) as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(new FittedTransformState(Spec, Features.ToArray(), Label, RawInputs.Select(c => new RawInput(c.Name, c.Kind, c.Shape.ToArray())).ToArray()), TransformSpec.JsonOptions);

    /// <summary>Restores a fitted transform from <see cref="ToJson"/>.</summary>
    public static FittedTransform FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var s = JsonSerializer.Deserialize<FittedTransformState>(json, TransformSpec.JsonOptions) ?? throw new InvalidDataException("the fitted transform is empty");
        return new FittedTransform(s.Spec, s.Features, s.Label, s.RawInputs.Select(r => new ColumnSpec(r.Name, r.Kind, r.Shape)).ToArray());
    }

    /// <summary>Writes the transform artifact: <c>transform_fn.json</c> and <c>transform.onnx</c> in <paramref name="directory"/>.</summary>
    public void Save(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, ParametersFileName), ToJson());
        File.WriteAllBytes(Path.Combine(directory, OnnxFileName), ExportOnnx());
    }

    /// <summary>Loads the parameters saved by <see cref="Save"/>.</summary>
    public static FittedTransform Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        return FromJson(File.ReadAllText(Path.Combine(directory, ParametersFileName)));
    }

    private static Column Column(RecordBatch batch, string name)
    {
        var i = batch.Schema.IndexOf(name);
        if (i < 0) throw new ArgumentException($"the batch has no column '{name}' (columns: {batch.Schema})", nameof(batch));
        return batch.Columns[i];
    }

    private sealed record RawInput(string Name, ColumnKind Kind, int[] Shape);

    private sealed record FittedTransformState(TransformSpec Spec, FittedFeature[] Features, FittedLabel? Label, RawInput[] RawInputs);
}
