using System.Runtime.CompilerServices;
using System.Text;
using Serverless.Ml.Data.Statistics;

namespace Serverless.Ml.Data.Csv;

/// <summary>
/// Streams a CSV file (RFC 4180 quoting, custom delimiter, missing-value tokens) as typed record batches.
/// <see cref="Open"/> reads the header and infers column kinds over the whole file (int64, else float64, else string,
/// widened by every value; overridable per column, or limited to a sample by
/// <see cref="CsvReadOptions.InferenceSampleRows"/>); <see cref="ReadBatches"/> then streams the whole file in batches of
/// <see cref="CsvReadOptions.BatchSize"/> rows with bounded memory. Parsing works on UTF-8 bytes: numbers are parsed
/// from spans and text is dictionary-encoded per batch, so no string is allocated per field. Batches are parsed in
/// parallel (<see cref="CsvReadOptions.Parallelism"/>) and yielded in file order.
/// A bad row (wrong field count, a number that does not parse under the column's kind) throws a
/// <see cref="CsvFormatException"/> naming file, line and column, unless <see cref="CsvReadOptions.MaxBadRows"/>
/// allows skipping it; skipped rows are counted in <see cref="BadRowCount"/>.
/// </summary>
public sealed class CsvReader : IRecordBatchReader
{
    private const int MaxBadRowSamples = 100;
    private readonly CsvReadOptions _options;
    private readonly List<CsvBadRow> _badRows = [];

    private readonly Func<Stream> _open;

    private CsvReader(string path, Func<Stream> open, CsvReadOptions options, TableSchema schema, CsvInference.Result inferred)
    {
        Path = path;
        _open = open;
        _options = options;
        Schema = schema;
        _inferred = inferred;
    }

    private readonly CsvInference.Result _inferred;

    /// <summary>The file being read.</summary>
    public string Path { get; }

    /// <inheritdoc />
    public TableSchema Schema { get; }

    /// <summary>Rows yielded by the last complete or ongoing scan.</summary>
    public long RowCount { get; private set; }

    /// <summary>Bad rows skipped by the last scan (only non-zero when <see cref="CsvReadOptions.MaxBadRows"/> &gt; 0).</summary>
    public long BadRowCount { get; private set; }

    /// <summary>The first skipped rows of the last scan (at most 100), for reports.</summary>
    public IReadOnlyList<CsvBadRow> BadRows => _badRows;

    /// <summary>
    /// Opens a file: reads the header and infers column kinds over <see cref="CsvReadOptions.InferenceSampleRows"/>
    /// rows (default: the whole file, one parallel pass).
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CsvFormatException">The file has no header row.</exception>
    public static CsvReader Open(string path, CsvReadOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new CsvReadOptions();
        if (options.Delimiter > 127 || options.Delimiter is '"' or '\n' or '\r') throw new ArgumentException("delimiter must be an ASCII character other than quote and newline", nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxBadRows);
        ArgumentOutOfRangeException.ThrowIfNegative(options.InferenceSampleRows);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxRecordBytes, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.MaxRecordBytes, 1 << 30);
        if (!File.Exists(path)) throw new FileNotFoundException($"CSV file not found: {path}", path);
        return OpenSource(() => OpenStream(path), path, options);
    }

    /// <summary>Opens CSV text from a stream factory (called once per scan); <paramref name="path"/> names it in errors.</summary>
    internal static CsvReader OpenSource(Func<Stream> open, string path, CsvReadOptions options)
    {
        var delim = (byte)options.Delimiter;
        string[] names;
        var fields = new FieldRef[16];
        var scratch = new byte[256];
        using (var splitter = new CsvSplitter(open(), path, options.MaxRecordBytes))
        {
            // The header (or, without one, the first record, for the column count).
            var first = splitter.Next(1);
            if (options.HasHeader)
            {
                var header = first ?? throw new CsvFormatException(path, 1, null, "empty file: no header row");
                var rec = RecordSpan(header, 0);
                var n = Tokenize(rec.Span, delim, ref fields);
                if (n < 0) throw new CsvFormatException(path, header.RecordLines[0], null, "malformed quoting in header");
                names = new string[n];
                for (var i = 0; i < n; i++) names[i] = Encoding.UTF8.GetString(FieldBytes(rec.Span, fields[i], ref scratch)).Trim();
                names = Dedupe(names);
            }
            else if (options.ColumnNames is { Count: > 0 } given)
            {
                names = Dedupe(given.ToArray());
            }
            else
            {
                var width = first is null ? 0 : Math.Max(0, Tokenize(RecordSpan(first, 0).Span, delim, ref fields));
                names = Enumerable.Range(0, width).Select(i => $"column_{i}").ToArray();
            }
        }
        foreach (var k in options.TypeOverrides)
        {
            if (Array.IndexOf(names, k.Key) < 0) throw new ArgumentException($"type override for unknown column '{k.Key}' (columns: {string.Join(", ", names)})", nameof(options));
            if (k.Value is ColumnKind.Float32Tensor) throw new ArgumentException($"column '{k.Key}': CSV cannot hold tensor columns", nameof(options));
        }
        var inferred = CsvInference.Run(open, path, names, options);
        var schema = new TableSchema(names.Select((n, i) => new ColumnSpec(n, inferred.Kinds[i])));
        return new CsvReader(path, open, options, schema, inferred);
    }

    /// <inheritdoc />
    public IEnumerable<RecordBatch> ReadBatches(CancellationToken cancellation = default)
    {
        RowCount = 0;
        BadRowCount = 0;
        _badRows.Clear();
        using var splitter = new CsvSplitter(_open(), Path, _options.MaxRecordBytes);
        if (_options.HasHeader) splitter.Next(1);
        var parallel = Math.Max(1, _options.Parallelism);
        var pending = new Queue<Task<ParsedBlock>>();
        var missing = _options.MissingTokens.Select(t => Encoding.UTF8.GetBytes(t)).ToArray();
        var pool = new Stack<BlockParser>();
        BlockParser Rent()
        {
            lock (pool) return pool.Count > 0 ? pool.Pop() : new BlockParser(Schema, (byte)_options.Delimiter, missing, MaxBadRowSamples + _options.MaxBadRows);
        }
        void Return(BlockParser p)
        {
            lock (pool) pool.Push(p);
        }
        ParsedBlock ParseOne(CsvBlock b)
        {
            var p = Rent();
            try { return p.Parse(b); }
            finally { Return(p); }
        }
        // A record the splitter rejects (too long) is reported after the blocks before it: errors come in file order.
        CsvFormatException? ahead = null;
        while (true)
        {
            cancellation.ThrowIfCancellationRequested();
            while (ahead is null && pending.Count < parallel)
            {
                CsvBlock? block;
                try
                {
                    block = splitter.Next(_options.BatchSize);
                }
                catch (CsvFormatException e)
                {
                    ahead = e;
                    break;
                }
                if (block is null) break;
                pending.Enqueue(parallel == 1 ? Task.FromResult(ParseOne(block)) : Task.Run(() => ParseOne(block), cancellation));
            }
            if (pending.Count == 0)
            {
                if (ahead is not null) throw ahead;
                yield break;
            }
            var parsed = pending.Dequeue().GetAwaiter().GetResult();
            foreach (var bad in parsed.BadRows)
            {
                if (BadRowCount >= _options.MaxBadRows)
                {
                    throw new CsvFormatException(Path, bad.Line, bad.Column, _options.MaxBadRows == 0 ? bad.Reason : $"{bad.Reason} (more than {_options.MaxBadRows} bad rows)");
                }
                BadRowCount++;
                if (_badRows.Count < MaxBadRowSamples) _badRows.Add(bad);
            }
            BadRowCount += parsed.UnlistedBadRows;
            if (BadRowCount > _options.MaxBadRows) throw new CsvFormatException(Path, parsed.BadRows[^1].Line, null, $"more than {_options.MaxBadRows} bad rows");
            if (parsed.Batch.RowCount == 0) continue;
            RowCount += parsed.Batch.RowCount;
            yield return parsed.Batch;
        }
    }

    /// <summary>
    /// Statistics of the whole file without materializing batches (see <see cref="CsvStatisticsScan"/>); null when the
    /// schema needs the batch path. Sets <see cref="RowCount"/>, <see cref="BadRowCount"/> and <see cref="BadRows"/>
    /// as a full <see cref="ReadBatches"/> scan would.
    /// </summary>
    internal StatisticsBuilder? ComputeStatistics(StatisticsOptions options, CancellationToken cancellation)
    {
        if (!CsvStatisticsScan.Supports(Schema)) return null;
        RowCount = 0;
        BadRowCount = 0;
        _badRows.Clear();
        // Exact ranges fix the histogram edges before the pass; from the inference pass when it read everything, else
        // from a range pass (the same scanner, cheaper than counting the histograms again over batches afterwards).
        var ranges = _inferred.Complete ? _inferred.Ranges : CsvInference.Ranges(_open, Path, Schema, _options, cancellation);
        var outcome = new CsvStatisticsScan(this, _options, options).Run(_open, Path, ranges, cancellation);
        RowCount = outcome.Rows;
        BadRowCount = outcome.BadRowCount;
        _badRows.AddRange(outcome.BadRows);
        // Like the batch path, which never adds an empty batch: no rows, no features.
        return outcome.Rows == 0 ? new StatisticsBuilder(options) : outcome.Builder;
    }

    private static FileStream OpenStream(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);

    private static string[] Dedupe(string[] names)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var r = new string[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            var n = names[i].Length == 0 ? $"column_{i}" : names[i];
            var candidate = n;
            for (var k = 1; !seen.Add(candidate); k++) candidate = $"{n}.{k}";
            r[i] = candidate;
        }
        return r;
    }

    internal static bool IsMissing(ReadOnlySpan<byte> f, byte[][] missing)
    {
        foreach (var m in missing)
        {
            if (m.Length == f.Length && f.SequenceEqual(m)) return true;
        }
        return false;
    }

    internal static ReadOnlyMemory<byte> RecordSpan(CsvBlock block, int r)
    {
        var s = r == 0 ? 0 : block.RecordEnds[r - 1] + 1;
        var e = block.RecordEnds[r];
        if (e > s && block.Data[e - 1] == (byte)'\r') e--;
        return block.Data.AsMemory(s, e - s);
    }

    internal static ReadOnlySpan<byte> FieldBytes(ReadOnlySpan<byte> rec, in FieldRef f, ref byte[] scratch)
    {
        var raw = rec.Slice(f.Start, f.Length);
        if (!f.Escaped) return raw;
        if (scratch.Length < raw.Length) scratch = new byte[Math.Max(raw.Length, scratch.Length * 2)];
        var n = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            scratch[n++] = raw[i];
            if (raw[i] == (byte)'"' && i + 1 < raw.Length && raw[i + 1] == (byte)'"') i++;
        }
        return scratch.AsSpan(0, n);
    }

    /// <summary>Splits one record into fields; returns the count, or -1 for malformed quoting.</summary>
[MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int Tokenize(ReadOnlySpan<byte> rec, byte delim, ref FieldRef[] fields)
    {
        var n = 0;
        var p = 0;
        var len = rec.Length;
        while (true)
        {
            if (n == fields.Length) Array.Resize(ref fields, n * 2);
            if (p < len && rec[p] == (byte)'"')
            {
                var q = p + 1;
                var escaped = false;
                while (true)
                {
                    var k = rec[q..].IndexOf((byte)'"');
                    if (k < 0) return -1; // unterminated quote
                    q += k;
                    if (q + 1 < len && rec[q + 1] == (byte)'"') { escaped = true; q += 2; continue; }
                    break;
                }
                fields[n++] = new FieldRef(p + 1, q - (p + 1), escaped);
                p = q + 1;
                if (p == len) return n;
                if (rec[p] != delim) return -1; // text after a closing quote
                p++;
            }
            else
            {
                // Short fields dominate: a scalar scan beats a vectorized search's set-up below 16 bytes.
                var rest = rec[p..];
                var k = -1;
                var lim = Math.Min(rest.Length, 16);
                for (var j = 0; j < lim; j++)
                {
                    if (rest[j] == delim) { k = j; break; }
                }
                if (k < 0 && rest.Length > 16)
                {
                    k = rest[16..].IndexOf(delim);
                    if (k >= 0) k += 16;
                }
                if (k < 0) { fields[n++] = new FieldRef(p, len - p, false); return n; }
                fields[n++] = new FieldRef(p, k, false);
                p += k + 1;
            }
        }
    }

    internal readonly record struct FieldRef(int Start, int Length, bool Escaped);

    private sealed record ParsedBlock(RecordBatch Batch, List<CsvBadRow> BadRows, long UnlistedBadRows);

    /// <summary>Stage two: parses one block into a batch. One instance per worker; reuses its scratch buffers.</summary>
    private sealed class BlockParser(TableSchema schema, byte delim, byte[][] missing, long maxListed)
    {
        private readonly Utf8Interner[] _interners = schema.Columns.Select(_ => new Utf8Interner()).ToArray();
        private FieldRef[] _fields = new FieldRef[Math.Max(4, schema.Columns.Count + 1)];
        private byte[] _scratch = new byte[256];
        private readonly int _maxMissingLen = missing.Length == 0 ? -1 : missing.Max(m => m.Length);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public ParsedBlock Parse(CsvBlock block)
        {
            var cols = schema.Columns;
            var nc = cols.Count;
            var cap = block.Count;
            var kinds = cols.Select(c => c.Kind).ToArray();
            var longs = new long[]?[nc];
            var doubles = new double[]?[nc];
            var codes = new int[]?[nc];
            var bytes = new byte[]?[]?[nc];
            var miss = new bool[nc][];
            for (var c = 0; c < nc; c++)
            {
                miss[c] = new bool[cap];
                switch (kinds[c])
                {
                    case ColumnKind.Int64: longs[c] = new long[cap]; break;
                    case ColumnKind.Float64: doubles[c] = new double[cap]; break;
                    case ColumnKind.String: codes[c] = new int[cap]; _interners[c].Clear(); break;
                    default: bytes[c] = new byte[]?[cap]; break;
                }
            }
            var bad = new List<CsvBadRow>();
            long unlisted = 0;
            var rows = 0;
            for (var r = 0; r < cap; r++)
            {
                var rec = RecordSpan(block, r).Span;
                if (rec.Length == 0) continue; // blank line
                var count = Tokenize(rec, delim, ref _fields);
                string? reason = null;
                string? column = null;
                if (count < 0) reason = "malformed quoting (unterminated quote or text after a closing quote)";
                else if (count != nc) reason = $"expected {nc} fields, found {count}";
                else
                {
                    for (var c = 0; c < nc; c++)
                    {
                        var f = _fields[c];
                        var v = f.Escaped ? FieldBytes(rec, f, ref _scratch) : rec.Slice(f.Start, f.Length);
                        if (v.Length <= _maxMissingLen && IsMissing(v, missing))
                        {
                            miss[c][rows] = true;
                            switch (kinds[c])
                            {
                                case ColumnKind.Int64: longs[c]![rows] = 0; break;
                                case ColumnKind.Float64: doubles[c]![rows] = 0; break;
                                case ColumnKind.String: codes[c]![rows] = 0; break;
                                default: bytes[c]![rows] = null; break;
                            }
                            continue;
                        }
                        miss[c][rows] = false;
                        switch (kinds[c])
                        {
                            case ColumnKind.Int64:
                                if (!Utf8Number.TryParseInt64(Utf8Number.Trim(v), out longs[c]![rows])) reason = $"cannot parse '{Show(v)}' as Int64";
                                break;
                            case ColumnKind.Float64:
                                if (!Utf8Number.TryParseDouble(Utf8Number.Trim(v), out doubles[c]![rows])) reason = $"cannot parse '{Show(v)}' as Float64";
                                break;
                            case ColumnKind.String:
                                codes[c]![rows] = _interners[c].GetOrAdd(v);
                                break;
                            default:
                                bytes[c]![rows] = v.ToArray();
                                break;
                        }
                        if (reason is not null) { column = cols[c].Name; break; }
                    }
                }
                if (reason is not null)
                {
                    if (bad.Count < maxListed) bad.Add(new CsvBadRow(block.RecordLines[r], column, reason));
                    else unlisted++;
                    continue;
                }
                rows++;
            }
            var columns = new Column[nc];
            for (var c = 0; c < nc; c++)
            {
                columns[c] = kinds[c] switch
                {
                    ColumnKind.Int64 => new Int64Column(cols[c], longs[c]!, miss[c], rows),
                    ColumnKind.Float64 => new Float64Column(cols[c], doubles[c]!, miss[c], rows),
                    ColumnKind.String => new StringColumn(cols[c], codes[c]!, _interners[c].ToStrings(), miss[c], rows),
                    _ => new BytesColumn(cols[c], bytes[c]!, miss[c], rows),
                };
            }
            return new ParsedBlock(new RecordBatch(schema, columns, rows), bad, unlisted);
        }

    }

    /// <summary>At most 40 bytes of a field for an error, control characters and invalid UTF-8 escaped: errors quote a prefix, never a whole input.</summary>
    internal static string Show(ReadOnlySpan<byte> v)
    {
        var head = v.Length > 40 ? v[..40] : v;
        var sb = new StringBuilder(head.Length + 8);
        while (!head.IsEmpty)
        {
            if (System.Text.Rune.DecodeFromUtf8(head, out var rune, out var used) != System.Buffers.OperationStatus.Done)
            {
                // An invalid sequence, or a character cut by the 40-byte prefix: its bytes in hex.
                sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\x{head[0]:X2}");
                head = head[1..];
                continue;
            }
            if (Rune.IsControl(rune)) sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\x{rune.Value:X2}");
            else sb.Append(rune.ToString());
            head = head[used..];
        }
        return v.Length > 40 ? sb + "..." : sb.ToString();
    }
}
