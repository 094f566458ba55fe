using Serverless.Ml.Data.Protos;

namespace Serverless.Ml.Data.TfRecord;

/// <summary>
/// Reads TFRecord files of tf.Example into record batches. Supported features: scalar int64 / float / bytes
/// features and fixed-length float lists (read as <see cref="ColumnKind.Float32Tensor"/> with a 1-D shape unless
/// the schema says otherwise). An absent feature or an empty list is a missing value. Bytes features that are
/// valid UTF-8 in the sample become String columns, others Bytes.
/// </summary>
public sealed class TfExampleReader : IRecordBatchReader
{
    private readonly IReadOnlyList<string> _files;
    private readonly TfExampleReadOptions _options;

    private TfExampleReader(IReadOnlyList<string> files, TfExampleReadOptions options, TableSchema schema)
    {
        _files = files;
        _options = options;
        Schema = schema;
    }

    /// <inheritdoc />
    public TableSchema Schema { get; }

    /// <summary>Opens files (read in the given order), inferring the schema when none is given.</summary>
    /// <exception cref="TfRecordFormatException">A bad record, or a sampled feature with variable-length or multi-valued non-float values; names the file and byte offset.</exception>
    public static TfExampleReader Open(IReadOnlyList<string> files, TfExampleReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (files.Count == 0) throw new ArgumentException("no input files", nameof(files));
        options ??= new TfExampleReadOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1);
        var schema = options.Schema ?? Infer(files, options);
        return new TfExampleReader(files, options, schema);
    }

    private static TableSchema Infer(IReadOnlyList<string> files, TfExampleReadOptions options)
    {
        var order = new List<string>();
        // Per feature: kind, value counts seen, and where the count last changed (for errors).
        var kinds = new Dictionary<string, (Feature.KindOneofCase Kind, int MinCount, int MaxCount, bool Utf8, string File, long Offset)>(StringComparer.Ordinal);
        var seen = 0;
        foreach (var file in files)
        {
            using var r = TfRecordReader.Open(file, options.Compression, options.MaxRecordBytes);
            while (seen < options.InferenceSampleRecords)
            {
                var offset = r.Offset;
                if (!r.TryRead(out var rec)) break;
                seen++;
                var ex = Parse(rec.Span, file, offset);
                foreach (var (name, f) in ex.Features?.Feature ?? [])
                {
                    var count = Count(f);
                    if (count == 0) continue;
                    var utf8 = f.KindCase != Feature.KindOneofCase.BytesList || f.BytesList.Value.All(v => IsUtf8(v.Span));
                    if (!kinds.TryGetValue(name, out var k))
                    {
                        order.Add(name);
                        kinds[name] = (f.KindCase, count, count, utf8, file, offset);
                        continue;
                    }
                    if (k.Kind != f.KindCase) throw new TfRecordFormatException(file, offset, $"feature '{Show(name)}' is {f.KindCase} here and {k.Kind} in an earlier example");
                    var changed = count < k.MinCount || count > k.MaxCount;
                    kinds[name] = (k.Kind, Math.Min(k.MinCount, count), Math.Max(k.MaxCount, count), k.Utf8 && utf8, changed ? file : k.File, changed ? offset : k.Offset);
                }
            }
            if (seen >= options.InferenceSampleRecords) break;
        }
        var specs = new List<ColumnSpec>();
        foreach (var name in order)
        {
            var k = kinds[name];
            if (k.Kind == Feature.KindOneofCase.FloatList && k.MaxCount > 1)
            {
                if (k.MinCount != k.MaxCount) throw new TfRecordFormatException(k.File, k.Offset, $"feature '{Show(name)}' has {k.MinCount} to {k.MaxCount} floats per example; only fixed-length float lists are supported");
                specs.Add(new ColumnSpec(name, ColumnKind.Float32Tensor, [k.MaxCount]));
                continue;
            }
            if (k.MaxCount > 1) throw new TfRecordFormatException(k.File, k.Offset, $"feature '{Show(name)}' has up to {k.MaxCount} values per example; only scalar {k.Kind} features are supported");
            specs.Add(new ColumnSpec(name, k.Kind switch
            {
                Feature.KindOneofCase.Int64List => ColumnKind.Int64,
                Feature.KindOneofCase.FloatList => ColumnKind.Float64,
                _ => k.Utf8 ? ColumnKind.String : ColumnKind.Bytes,
            }));
        }
        return new TableSchema(specs);
    }

    private static bool IsUtf8(ReadOnlySpan<byte> b) => System.Text.Unicode.Utf8.IsValid(b);

    /// <summary>A record as a tf.Example; anything else is an error naming the file and the record's offset.</summary>
    private static Example Parse(ReadOnlySpan<byte> record, string file, long offset)
    {
        try
        {
            return Example.Parser.ParseFrom(record);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new TfRecordFormatException($"{file}: TFRecord at byte offset {offset}: not a tf.Example ({e.Message})", e);
        }
    }

    /// <summary>A feature name for an error: at most 40 characters, control characters escaped.</summary>
    internal static string Show(string name)
    {
        var head = name.Length > 40 ? name[..40] + "..." : name;
        return string.Concat(head.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
    }

    private static int Count(Feature f) => f.KindCase switch
    {
        Feature.KindOneofCase.BytesList => f.BytesList.Value.Count,
        Feature.KindOneofCase.FloatList => f.FloatList.Value.Count,
        Feature.KindOneofCase.Int64List => f.Int64List.Value.Count,
        _ => 0,
    };

    /// <inheritdoc />
    public IEnumerable<RecordBatch> ReadBatches(CancellationToken cancellation = default)
    {
        var builder = new BatchBuilder(Schema, _options.BatchSize);
        foreach (var file in _files)
        {
            using var r = TfRecordReader.Open(file, _options.Compression, _options.MaxRecordBytes);
            while (true)
            {
                cancellation.ThrowIfCancellationRequested();
                var offset = r.Offset;
                if (!r.TryRead(out var rec)) break;
                var ex = Parse(rec.Span, file, offset);
                builder.Add(ex, file, offset, _options.IgnoreUnknownFeatures);
                if (builder.Count == _options.BatchSize) yield return builder.Build();
            }
        }
        if (builder.Count > 0) yield return builder.Build();
    }

    /// <summary>Accumulates examples column by column.</summary>
    private sealed class BatchBuilder(TableSchema schema, int capacity)
    {
        private readonly Utf8Interner[] _interners = schema.Columns.Select(_ => new Utf8Interner()).ToArray();
        private long[][] _longs = null!;
        private double[][] _doubles = null!;
        private int[][] _codes = null!;
        private byte[]?[][] _bytes = null!;
        private float[][] _floats = null!;
        private bool[][] _missing = null!;
        private bool _allocated;

        public int Count { get; private set; }

        private void Allocate()
        {
            var n = schema.Columns.Count;
            _longs = new long[n][];
            _doubles = new double[n][];
            _codes = new int[n][];
            _bytes = new byte[]?[n][];
            _floats = new float[n][];
            _missing = new bool[n][];
            for (var c = 0; c < n; c++)
            {
                var spec = schema.Columns[c];
                _missing[c] = new bool[capacity];
                switch (spec.Kind)
                {
                    case ColumnKind.Int64: _longs[c] = new long[capacity]; break;
                    case ColumnKind.Float64: _doubles[c] = new double[capacity]; break;
                    case ColumnKind.String: _codes[c] = new int[capacity]; _interners[c].Clear(); break;
                    case ColumnKind.Bytes: _bytes[c] = new byte[]?[capacity]; break;
                    default: _floats[c] = new float[capacity * spec.ValuesPerRow]; break;
                }
            }
            _allocated = true;
        }

        public void Add(Example ex, string file, long offset, bool ignoreUnknown)
        {
            if (!_allocated) Allocate();
            var row = Count;
            for (var c = 0; c < schema.Columns.Count; c++) _missing[c][row] = true;
            foreach (var (name, f) in ex.Features?.Feature ?? [])
            {
                var c = schema.IndexOf(name);
                if (c < 0)
                {
                    if (ignoreUnknown) continue;
                    throw new TfRecordFormatException(file, offset, $"feature '{Show(name)}' is not one of the schema's {schema.Columns.Count} columns");
                }
                var spec = schema.Columns[c];
                var count = Count(f);
                if (count == 0) continue;
                string? problem = null;
                switch (spec.Kind)
                {
                    case ColumnKind.Int64 when f.KindCase == Feature.KindOneofCase.Int64List && count == 1:
                        _longs[c][row] = f.Int64List.Value[0];
                        break;
                    case ColumnKind.Float64 when f.KindCase == Feature.KindOneofCase.FloatList && count == 1:
                        _doubles[c][row] = f.FloatList.Value[0];
                        break;
                    case ColumnKind.Float64 when f.KindCase == Feature.KindOneofCase.Int64List && count == 1:
                        _doubles[c][row] = f.Int64List.Value[0];
                        break;
                    case ColumnKind.String when f.KindCase == Feature.KindOneofCase.BytesList && count == 1:
                        _codes[c][row] = _interners[c].GetOrAdd(f.BytesList.Value[0].Span);
                        break;
                    case ColumnKind.Bytes when f.KindCase == Feature.KindOneofCase.BytesList && count == 1:
                        _bytes[c][row] = f.BytesList.Value[0].ToByteArray();
                        break;
                    case ColumnKind.Float32Tensor when f.KindCase == Feature.KindOneofCase.FloatList && count == spec.ValuesPerRow:
                        for (var i = 0; i < count; i++) _floats[c][(row * count) + i] = f.FloatList.Value[i];
                        break;
                    default:
                        problem = $"feature '{Show(name)}' has {count} value(s) of {f.KindCase}, schema expects {spec.Kind}" + (spec.Kind == ColumnKind.Float32Tensor ? $" with {spec.ValuesPerRow} values" : string.Empty);
                        break;
                }
                if (problem is not null) throw new TfRecordFormatException(file, offset, problem);
                _missing[c][row] = false;
            }
            Count++;
        }

        public RecordBatch Build()
        {
            var cols = new Column[schema.Columns.Count];
            for (var c = 0; c < cols.Length; c++)
            {
                var spec = schema.Columns[c];
                cols[c] = spec.Kind switch
                {
                    ColumnKind.Int64 => new Int64Column(spec, _longs[c], _missing[c], Count),
                    ColumnKind.Float64 => new Float64Column(spec, _doubles[c], _missing[c], Count),
                    ColumnKind.String => new StringColumn(spec, _codes[c], _interners[c].ToStrings(), _missing[c], Count),
                    ColumnKind.Bytes => new BytesColumn(spec, _bytes[c], _missing[c], Count),
                    _ => new Float32TensorColumn(spec, _floats[c], _missing[c], Count),
                };
            }
            var batch = new RecordBatch(schema, cols, Count);
            Count = 0;
            _allocated = false;
            return batch;
        }
    }
}
