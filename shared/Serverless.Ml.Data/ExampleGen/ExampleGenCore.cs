using System.Globalization;
using Serverless.Ml.Data.Columnar;
using Serverless.Ml.Data.Csv;
using Serverless.Ml.Data.Idx;
using Serverless.Ml.Data.TfRecord;

namespace Serverless.Ml.Data.ExampleGen;

/// <summary>
/// The work of TFX's ExampleGen, without hosting: resolve the input pattern (latest <c>{SPAN}</c> /
/// <c>{VERSION}</c> by default), read CSV / TFRecord / IDX in batches, assign each row to a split (deterministic
/// hash buckets over a partition feature or the whole row, or pre-split inputs), and write per split sharded
/// TFRecord files of tf.Example (<c>Split-{name}/data_tfrecord-00000-of-00002.gz</c>, readable by TensorFlow) and,
/// in the same pass, the columnar form (<c>Split-{name}/data_columnar-00000-of-00002.smlc</c>) for our own
/// components. Memory stays at a few batches whatever the input size.
/// Failure semantics: an empty input (no file or no row) throws <see cref="InvalidDataException"/>; a bad CSV row
/// throws unless tolerated. Outputs are plain files in <see cref="ExampleGenOptions.OutputDirectory"/>: the caller
/// (the pipeline component) writes there under a temporary prefix and publishes atomically.
/// </summary>
public static class ExampleGenCore
{
    /// <summary>Runs ExampleGen and reports rows per split.</summary>
    public static ExampleGenResult Run(ExampleGenOptions options, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RowsPerShard, 1);
        if (options.InputSplits is { Count: > 0 } pre) return RunPreSplit(options, pre, cancellation);
        if (string.IsNullOrEmpty(options.Pattern)) throw new ArgumentException("Pattern or InputSplits is required", nameof(options));
        if (options.OutputSplits.Count == 0 || options.OutputSplits.Any(s => s.HashBuckets <= 0))
            throw new ArgumentException("output splits need positive hash bucket counts", nameof(options));
        if (options.OutputSplits.Select(s => s.Name).Distinct(StringComparer.Ordinal).Count() != options.OutputSplits.Count)
            throw new ArgumentException("duplicate split names", nameof(options));

        var (input, reader, bad) = OpenInput(options, options.Pattern, options.LabelsPattern);
        var partition = -1;
        if (options.PartitionFeature is not null)
        {
            partition = reader.Schema.IndexOf(options.PartitionFeature);
            if (partition < 0) throw new ArgumentException($"partition feature '{options.PartitionFeature}' is not a column ({reader.Schema})", nameof(options));
        }
        var total = options.OutputSplits.Sum(s => s.HashBuckets);
        var bucketToSplit = options.OutputSplits.SelectMany((s, i) => Enumerable.Repeat(i, s.HashBuckets)).ToArray();
        var sinks = options.OutputSplits.Select(s => new SplitSink(options, s.Name, reader.Schema)).ToArray();
        try
        {
            var counts = new int[sinks.Length];
            foreach (var batch in reader.ReadBatches(cancellation))
            {
                var hashes = RowHasher.HashRows(batch, partition >= 0 ? [partition] : null);
                var assign = new int[batch.RowCount];
                Array.Clear(counts);
                for (var i = 0; i < assign.Length; i++) counts[assign[i] = bucketToSplit[(int)(hashes[i] % (ulong)total)]]++;
                var rows = counts.Select(n => new int[n]).ToArray();
                Array.Clear(counts);
                for (var i = 0; i < assign.Length; i++) rows[assign[i]][counts[assign[i]]++] = i;
                Parallel.For(0, sinks.Length, s =>
                {
                    if (rows[s].Length == 0) return;
                    sinks[s].Write(rows[s].Length == batch.RowCount ? batch : batch.Select(rows[s]));
                });
            }
            return Finish(options, input, reader.Schema, sinks, bad());
        }
        finally
        {
            foreach (var s in sinks) s.Dispose();
        }
    }

    private static ExampleGenResult RunPreSplit(ExampleGenOptions options, IReadOnlyList<InputSplit> splits, CancellationToken cancellation)
    {
        if (splits.Select(s => s.Name).Distinct(StringComparer.Ordinal).Count() != splits.Count) throw new ArgumentException("duplicate split names", nameof(options));
        var sinks = new List<SplitSink>();
        var files = new List<string>();
        TableSchema? schema = null;
        ResolvedInput? first = null;
        long badRows = 0;
        if (options.Format == InputFormat.Csv)
        {
            // CSV kinds are inferred over every split's files, widened, then pinned for all splits alike.
            var all = new List<string>();
            foreach (var split in splits)
            {
                var input = InputPattern.Resolve(options.InputBase, split.Pattern, first?.Span ?? options.Span, first?.Version ?? options.Version);
                first ??= input;
                all.AddRange(input.Files);
            }
            schema = MultiCsvReader.WidenedSchema(all, options.Csv);
            first = null;
        }
        try
        {
            foreach (var split in splits)
            {
                // Every split reads the span/version chosen for the first split, so splits never mix spans.
                var o = first is null ? options : Clone(options, first);
                var (input, reader, bad) = OpenInput(o, split.Pattern, split.LabelsPattern, schema);
                first ??= input;
                if (schema is not null && !schema.Equals(reader.Schema))
                    throw new InvalidDataException($"split '{split.Name}' has schema ({reader.Schema}), split '{splits[0].Name}' has ({schema})");
                schema = reader.Schema;
                files.AddRange(input.Files);
                var sink = new SplitSink(options, split.Name, schema);
                sinks.Add(sink);
                foreach (var batch in reader.ReadBatches(cancellation)) sink.Write(batch);
                badRows += bad();
            }
            return Finish(options, first! with { Files = files }, schema!, sinks.ToArray(), badRows);
        }
        finally
        {
            foreach (var s in sinks) s.Dispose();
        }
    }

    private static ExampleGenOptions Clone(ExampleGenOptions o, ResolvedInput first) => new()
    {
        InputBase = o.InputBase,
        OutputDirectory = o.OutputDirectory,
        Format = o.Format,
        Span = first.Span,
        Version = first.Version,
        Csv = o.Csv,
        TfRecord = o.TfRecord,
        Idx = o.Idx,
    };

    private static ExampleGenResult Finish(ExampleGenOptions options, ResolvedInput input, TableSchema schema, SplitSink[] sinks, long badRows)
    {
        var results = sinks.Select(s => s.Complete()).ToList();
        var total = results.Sum(r => r.Rows);
        if (total == 0)
        {
            foreach (var r in results) foreach (var f in r.TfRecordFiles.Concat(r.ColumnarFiles)) File.Delete(f);
            throw new InvalidDataException($"input is empty: no rows in {string.Join(", ", input.Files)}");
        }
        return new ExampleGenResult(input.Span, input.Version, input.Files, schema, results, total, badRows);
    }

    /// <summary>Opens the reader for a pattern; the returned function reports bad rows skipped once reading ended.</summary>
    private static (ResolvedInput Input, IRecordBatchReader Reader, Func<long> BadRows) OpenInput(ExampleGenOptions options, string pattern, string? labelsPattern, TableSchema? expected = null)
    {
        var input = InputPattern.Resolve(options.InputBase, pattern, options.Span, options.Version);
        switch (options.Format)
        {
            case InputFormat.Csv:
                var csv = new MultiCsvReader(input.Files, options.Csv, expected);
                return (input, csv, () => csv.BadRows);
            case InputFormat.TfRecord:
                var tfOptions = options.TfRecord;
                if (expected is not null && tfOptions.Schema is null)
                    tfOptions = new TfExampleReadOptions { Schema = expected, BatchSize = tfOptions.BatchSize, Compression = tfOptions.Compression, IgnoreUnknownFeatures = tfOptions.IgnoreUnknownFeatures };
                return (input, TfExampleReader.Open(input.Files, tfOptions), () => 0);
            default:
                if (string.IsNullOrEmpty(labelsPattern)) throw new ArgumentException("IDX input needs a labels pattern", nameof(options));
                var labels = InputPattern.Resolve(options.InputBase, labelsPattern, input.Span, input.Version);
                if (labels.Files.Count != input.Files.Count) throw new InvalidDataException($"{input.Files.Count} image files but {labels.Files.Count} label files");
                var readers = input.Files.Zip(labels.Files, (i, l) => (IRecordBatchReader)new IdxDatasetReader(i, l, options.Idx)).ToList();
                return (input with { Files = [.. input.Files, .. labels.Files] }, new ConcatReader(readers), () => 0);
        }
    }

    /// <summary>
    /// Reads several CSV files with one schema: kinds inferred over every file and widened (int64 -> float64 -> string)
    /// unless fixed by the options, or the expected schema of an earlier split; then pinned for reading.
    /// </summary>
    private sealed class MultiCsvReader : IRecordBatchReader
    {
        private readonly IReadOnlyList<string> _files;
        private readonly CsvReadOptions _options;

        public MultiCsvReader(IReadOnlyList<string> files, CsvReadOptions options, TableSchema? expected)
        {
            _files = files;
            Schema = expected ?? WidenedSchema(files, options);
            _options = Pinned(options, Schema);
        }

        /// <summary>The kinds of every file's inference pass, widened column by column; the files must have the same columns.</summary>
        public static TableSchema WidenedSchema(IReadOnlyList<string> files, CsvReadOptions options)
        {
            TableSchema? schema = null;
            foreach (var file in files)
            {
                var s = CsvReader.Open(file, options).Schema;
                if (schema is null)
                {
                    schema = s;
                    continue;
                }
                if (!s.Columns.Select(c => c.Name).SequenceEqual(schema.Columns.Select(c => c.Name), StringComparer.Ordinal))
                    throw new InvalidDataException($"{file}: columns ({s}) differ from {files[0]} ({schema})");
                schema = new TableSchema(schema.Columns.Zip(s.Columns, (a, b) => new ColumnSpec(a.Name, Widen(a.Kind, b.Kind))));
            }
            return schema!;
        }

        private static ColumnKind Widen(ColumnKind a, ColumnKind b) =>
            a == b ? a : (a, b) is (ColumnKind.Int64, ColumnKind.Float64) or (ColumnKind.Float64, ColumnKind.Int64) ? ColumnKind.Float64 : ColumnKind.String;

        public TableSchema Schema { get; }

        public long BadRows { get; private set; }

        private static CsvReadOptions Pinned(CsvReadOptions o, TableSchema schema) => new()
        {
            Delimiter = o.Delimiter,
            HasHeader = o.HasHeader,
            ColumnNames = o.ColumnNames,
            MissingTokens = o.MissingTokens,
            InferenceSampleRows = o.InferenceSampleRows,
            TypeOverrides = schema.Columns.ToDictionary(c => c.Name, c => c.Kind),
            BatchSize = o.BatchSize,
            MaxBadRows = o.MaxBadRows,
            Parallelism = o.Parallelism,
        };

        public IEnumerable<RecordBatch> ReadBatches(CancellationToken cancellation = default)
        {
            BadRows = 0;
            foreach (var file in _files)
            {
                var r = CsvReader.Open(file, _options);
                if (!r.Schema.Equals(Schema)) throw new InvalidDataException($"{file}: columns ({r.Schema}) differ from {_files[0]} ({Schema})");
                foreach (var b in r.ReadBatches(cancellation)) yield return b;
                BadRows += r.BadRowCount;
            }
        }
    }

    private sealed class ConcatReader(IReadOnlyList<IRecordBatchReader> readers) : IRecordBatchReader
    {
        public TableSchema Schema { get; } = readers[0].Schema;

        public IEnumerable<RecordBatch> ReadBatches(CancellationToken cancellation = default)
        {
            foreach (var r in readers)
            {
                if (!r.Schema.Equals(Schema)) throw new InvalidDataException($"inputs have different schemas: ({r.Schema}) vs ({Schema})");
                foreach (var b in r.ReadBatches(cancellation)) yield return b;
            }
        }
    }

    /// <summary>Writes one split's shards: TFRecord and columnar side by side, renamed to -of-N at the end.</summary>
    private sealed class SplitSink : IDisposable
    {
        private readonly ExampleGenOptions _options;
        private readonly TableSchema _schema;
        private readonly string _dir;
        private readonly List<(string Tf, string Col)> _shards = [];
        private TfRecordWriter? _tf;
        private ColumnarWriter? _col;
        private long _rowsInShard;

        public SplitSink(ExampleGenOptions options, string name, TableSchema schema)
        {
            if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name.Contains('/', StringComparison.Ordinal))
                throw new ArgumentException($"invalid split name '{name}'", nameof(name));
            _options = options;
            _schema = schema;
            Name = name;
            _dir = Path.Combine(options.OutputDirectory, $"Split-{name}");
            Directory.CreateDirectory(_dir);
        }

        public string Name { get; }

        public long Rows { get; private set; }

        private string Ext => _options.Compression == TfRecordCompression.None ? string.Empty : ".gz";

        private void Open()
        {
            var i = _shards.Count.ToString("D5", CultureInfo.InvariantCulture);
            var tf = Path.Combine(_dir, $"data_tfrecord-{i}.partial{Ext}");
            var col = Path.Combine(_dir, $"data_columnar-{i}.partial{ColumnarFormat.Extension}");
            _shards.Add((tf, col));
            _tf = TfRecordWriter.Create(tf, _options.Compression == TfRecordCompression.None ? TfRecordCompression.None : TfRecordCompression.Gzip);
            _col = _options.WriteColumnar ? new ColumnarWriter(col, _schema) : null;
            _rowsInShard = 0;
        }

        private void CloseShard()
        {
            _tf?.Dispose();
            _col?.Dispose();
            _tf = null;
            _col = null;
        }

        public void Write(RecordBatch batch)
        {
            var start = 0;
            while (start < batch.RowCount)
            {
                if (_tf is null || _rowsInShard >= _options.RowsPerShard)
                {
                    CloseShard();
                    Open();
                }
                var n = (int)Math.Min(batch.RowCount - start, _options.RowsPerShard - _rowsInShard);
                var part = n == batch.RowCount ? batch : batch.Select(Enumerable.Range(start, n).ToArray());
                var enc = new ExampleEncoder(part);
                for (var r = 0; r < part.RowCount; r++) _tf!.Write(enc.Encode(r));
                _col?.Write(part);
                _rowsInShard += n;
                Rows += n;
                start += n;
            }
        }

        public SplitResult Complete()
        {
            if (_tf is null && _shards.Count == 0) Open(); // an empty split still gets one (empty) shard
            CloseShard();
            var n = _shards.Count.ToString("D5", CultureInfo.InvariantCulture);
            var tfs = new List<string>();
            var cols = new List<string>();
            for (var i = 0; i < _shards.Count; i++)
            {
                var idx = i.ToString("D5", CultureInfo.InvariantCulture);
                var tf = Path.Combine(_dir, $"data_tfrecord-{idx}-of-{n}{Ext}");
                File.Move(_shards[i].Tf, tf, overwrite: true);
                tfs.Add(tf);
                if (!_options.WriteColumnar) continue;
                var col = Path.Combine(_dir, $"data_columnar-{idx}-of-{n}{ColumnarFormat.Extension}");
                File.Move(_shards[i].Col, col, overwrite: true);
                cols.Add(col);
            }
            _shards.Clear();
            return new SplitResult(Name, Rows, tfs, cols);
        }

        public void Dispose() => CloseShard();
    }
}
