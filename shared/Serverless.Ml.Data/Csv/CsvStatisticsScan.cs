using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using Serverless.Ml.Data.Statistics;

namespace Serverless.Ml.Data.Csv;

/// <summary>
/// The fused "CSV -> statistics" path behind <see cref="StatisticsBuilder.Compute"/> for a <see cref="CsvReader"/>:
/// the same splitter, the same field semantics (missing tokens, number grammar, bad-row rules) as
/// <see cref="CsvReader.ReadBatches"/>, but no <see cref="RecordBatch"/> is materialized. One thread cuts the file
/// into blocks (pooled, reused); <c>Parallelism</c> workers each own a partial <see cref="StatisticsBuilder"/> and
/// take blocks round-robin (block i goes to worker i mod W, so the result is deterministic for a given W). A worker
/// parses numbers in the same pass that finds the delimiters, stages a row and commits it only when every field
/// parsed, then per block feeds the valid values of each numeric column to moments and the KLL sketch and counts
/// text codes in a per-worker interner that lives across blocks (strings are made once per distinct value, at the
/// end or when the interner passes 65,536 entries). Partial builders merge at the end (exact for counts and
/// moments, within the documented bounds for sketches). Bad rows are resolved in file order as ReadBatches does.
/// </summary>
internal sealed class CsvStatisticsScan
{
    private const int FlushDistinct = 1 << 16;
    private readonly CsvReader _reader;
    private readonly CsvReadOptions _options;
    private readonly StatisticsOptions _statsOptions;
    private readonly byte[][] _missing;

    public CsvStatisticsScan(CsvReader reader, CsvReadOptions options, StatisticsOptions statsOptions)
    {
        _reader = reader;
        _options = options;
        _statsOptions = statsOptions;
        _missing = options.MissingTokens.Select(t => Encoding.UTF8.GetBytes(t)).ToArray();
    }

    /// <summary>Whether the fused path handles this schema (Bytes columns go through batches).</summary>
    public static bool Supports(TableSchema schema) =>
        schema.Columns.All(c => c.Kind is ColumnKind.Int64 or ColumnKind.Float64 or ColumnKind.String);

    public sealed record Outcome(StatisticsBuilder Builder, long Rows, long BadRowCount, List<CsvBadRow> BadRows);

    private sealed record BlockBad(long Index, List<CsvBadRow> Rows, long Unlisted);

    /// <summary>
    /// Bad-row counts of finished blocks, summed in file order as far as every earlier block has finished. Counting in
    /// the order blocks finish instead (as before) could stop the pass at an early block while a bad row between it
    /// and a later finished block was never parsed, and then report the later row (found by the fuzz test).
    /// </summary>
    private sealed class BadRowFrontier(long tolerance)
    {
        private readonly Dictionary<long, long> _finished = [];
        private long _next;
        private long _sum;
        private long _stop = long.MaxValue;

        /// <summary>Records a finished block; returns the block after which reading may stop (long.MaxValue: not yet).</summary>
        public long Complete(long index, long bad)
        {
            lock (_finished)
            {
                _finished[index] = bad;
                while (_stop == long.MaxValue && _finished.Remove(_next, out var n))
                {
                    _sum += n;
                    if (_sum > tolerance) _stop = _next;
                    _next++;
                }
                return _stop;
            }
        }
    }

    public Outcome Run(Func<Stream> open, string path, IReadOnlyList<CsvInference.ColumnRange?> ranges, CancellationToken cancellation)
    {
        var schema = _reader.Schema;
        var workers = Math.Max(1, _options.Parallelism);
        var maxListed = 100 + _options.MaxBadRows;
        var parsers = Enumerable.Range(0, workers).Select(_ => new Worker(schema, (byte)_options.Delimiter, _missing, maxListed, _statsOptions)).ToArray();
        foreach (var p in parsers)
        {
            // Exact ranges from the inference pass fix the standard histograms' edges, counted in this same pass.
            for (var c = 0; c < ranges.Count; c++)
            {
                if (ranges[c] is { } range) p.Builder.PresetHistogramRange(schema.Columns[c].Name, range.Min, range.Max);
            }
        }
        var badBlocks = new ConcurrentBag<BlockBad>();
        var frontier = new BadRowFrontier(_options.MaxBadRows);
        var ahead = CsvBlockPipeline.Run(open, path, _options, long.MaxValue, (w, block) =>
        {
            var (bad, unlisted) = parsers[w].Parse(block);
            if (bad is not null) badBlocks.Add(new BlockBad(block.Index, bad, unlisted));
            // Stop reading only where the bad rows, counted in file order, pass the tolerance: every block before
            // that one has been parsed, so the first bad row past the tolerance in the file is the one reported.
            return frontier.Complete(block.Index, (bad?.Count ?? 0) + unlisted);
        }, cancellation);

        // Bad rows in file order, with ReadBatches' rules.
        long badCount = 0;
        var listed = new List<CsvBadRow>();
        foreach (var b in badBlocks.OrderBy(b => b.Index))
        {
            foreach (var bad in b.Rows)
            {
                if (badCount >= _options.MaxBadRows)
                {
                    throw new CsvFormatException(_reader.Path, bad.Line, bad.Column, _options.MaxBadRows == 0 ? bad.Reason : $"{bad.Reason} (more than {_options.MaxBadRows} bad rows)");
                }
                badCount++;
                if (listed.Count < 100) listed.Add(bad);
            }
            badCount += b.Unlisted;
            if (badCount > _options.MaxBadRows) throw new CsvFormatException(_reader.Path, b.Rows[^1].Line, null, $"more than {_options.MaxBadRows} bad rows");
        }
        if (ahead is not null) throw ahead; // a malformed record after every row above: reported after their problems

        foreach (var p in parsers) p.Finish();
        var result = parsers[0].Builder;
        for (var w = 1; w < workers; w++) result.Merge(parsers[w].Builder);
        return new Outcome(result, parsers.Sum(p => p.Rows), badCount, listed);
    }

    /// <summary>One worker: parses blocks and feeds its own partial statistics. Buffers live as long as the worker.</summary>
    private sealed class Worker
    {
        private const byte Valid = 0, Missing = 1, NaN = 2;
        private readonly TableSchema _schema;
        private readonly byte _delim;
        private readonly byte[][] _missingTokens;
        private readonly int _maxMissingLen;
        private readonly bool _emptyIsMissing;
        private readonly long _maxListed;
        private readonly ColumnKind[] _kinds;
        private readonly FeatureAccumulator[] _accs;
        private readonly Utf8Interner?[] _interners;
        private readonly long[]?[] _codeCounts;
        private readonly bool[]?[] _codeMissing;
        private readonly double[]?[] _values;
        private readonly int[] _valueCount;
        private readonly long[] _blockMissing;
        private readonly long[] _blockNan;
        private readonly double[] _rowValue;
        private readonly int[] _rowCode;
        private readonly byte[] _rowState;
        private CsvReader.FieldRef[] _fields;
        private byte[] _scratch = new byte[256];

        public Worker(TableSchema schema, byte delim, byte[][] missing, long maxListed, StatisticsOptions options)
        {
            _schema = schema;
            _delim = delim;
            _missingTokens = missing;
            _maxMissingLen = missing.Length == 0 ? -1 : missing.Max(m => m.Length);
            _emptyIsMissing = missing.Any(m => m.Length == 0);
            _maxListed = maxListed;
            var nc = schema.Columns.Count;
            _kinds = schema.Columns.Select(c => c.Kind).ToArray();
            Builder = new StatisticsBuilder(options);
            _accs = Builder.Register(schema);
            _interners = new Utf8Interner?[nc];
            _codeCounts = new long[]?[nc];
            _codeMissing = new bool[]?[nc];
            _values = new double[]?[nc];
            for (var c = 0; c < nc; c++)
            {
                if (_kinds[c] == ColumnKind.String)
                {
                    _interners[c] = new Utf8Interner();
                    _codeCounts[c] = new long[256];
                    _codeMissing[c] = new bool[256];
                }
            }
            _valueCount = new int[nc];
            _blockMissing = new long[nc];
            _blockNan = new long[nc];
            _rowValue = new double[nc];
            _rowCode = new int[nc];
            _rowState = new byte[nc];
            _fields = new CsvReader.FieldRef[Math.Max(4, nc + 1)];
        }

        public StatisticsBuilder Builder { get; }

        public long Rows { get; private set; }

        /// <summary>Flushes text counts into the builder.</summary>
        public void Finish()
        {
            for (var c = 0; c < _kinds.Length; c++) if (_interners[c] is not null) FlushText(c);
        }

        private void FlushText(int c)
        {
            var interner = _interners[c]!;
            _accs[c].AddInterned(interner, _codeCounts[c]!, _codeMissing[c]!, Builder.Options);
            Array.Clear(_codeCounts[c]!, 0, interner.Count);
            interner.Clear();
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public (List<CsvBadRow>? Bad, long Unlisted) Parse(CsvBlock block)
        {
            var nc = _kinds.Length;
            var cap = block.Count;
            for (var c = 0; c < nc; c++)
            {
                _valueCount[c] = 0;
                _blockMissing[c] = 0;
                _blockNan[c] = 0;
                if (_kinds[c] != ColumnKind.String && (_values[c]?.Length ?? 0) < cap) _values[c] = new double[cap];
            }
            List<CsvBadRow>? bad = null;
            long unlisted = 0;
            var rows = 0;
            var data = block.Data;
            for (var r = 0; r < cap; r++)
            {
                var s = r == 0 ? 0 : block.RecordEnds[r - 1] + 1;
                var e = block.RecordEnds[r];
                if (e > s && data[e - 1] == (byte)'\r') e--;
                var rec = new ReadOnlySpan<byte>(data, s, e - s);
                if (rec.Length == 0) continue; // blank line
                string? column = null;
                var reason = FastRow(rec) ? null : SlowRow(rec, out column);
                if (reason is not null)
                {
                    bad ??= [];
                    if (bad.Count < _maxListed) bad.Add(new CsvBadRow(block.RecordLines[r], column, reason));
                    else unlisted++;
                    continue;
                }
                Commit();
                rows++;
            }
            for (var c = 0; c < nc; c++)
            {
                var present = rows - _blockMissing[c];
                if (_kinds[c] == ColumnKind.String)
                {
                    _accs[c].AddPresence(present, _blockMissing[c]);
                    if (_interners[c]!.Count > FlushDistinct) FlushText(c);
                }
                else
                {
                    _accs[c].AddNumericBlock(_values[c].AsSpan(0, _valueCount[c]), present, _blockMissing[c], _blockNan[c]);
                }
            }
            Builder.AddRowCount(rows);
            Rows += rows;
            return (bad, unlisted);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Commit()
        {
            for (var c = 0; c < _kinds.Length; c++)
            {
                var st = _rowState[c];
                if (st == Missing) { _blockMissing[c]++; continue; }
                if (_kinds[c] == ColumnKind.String) { _codeCounts[c]![_rowCode[c]]++; continue; }
                if (st == NaN) { _blockNan[c]++; continue; }
                _values[c]![_valueCount[c]++] = _rowValue[c];
            }
        }

        /// <summary>Single pass over an unquoted, well-formed row; false sends the row to <see cref="SlowRow"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private bool FastRow(ReadOnlySpan<byte> rec)
        {
            var nc = _kinds.Length;
            var len = rec.Length;
            var delim = _delim;
            var p = 0;
            for (var c = 0; c < nc; c++)
            {
                if (c > 0)
                {
                    if (p >= len || rec[p] != delim) return false;
                    p++;
                }
                if (p < len && rec[p] == (byte)'"') return false;
                var kind = _kinds[c];
                if (kind == ColumnKind.Float64 || kind == ColumnKind.Int64)
                {
                    if (p == len || rec[p] == delim)
                    {
                        if (!_emptyIsMissing) return false;
                        _rowState[c] = Missing;
                        continue;
                    }
                    var ok = kind == ColumnKind.Float64 ? Utf8Number.FastDouble(rec, ref p, delim, out _rowValue[c]) : Utf8Number.FastInt(rec, ref p, delim, out _rowValue[c]);
                    if (!ok) return false;
                    _rowState[c] = Valid;
                }
                else
                {
                    var start = p;
                    while (p < len && rec[p] != delim) p++;
                    var v = rec[start..p];
                    if (v.Length > 0 && v[0] == (byte)'"') return false;
                    SetText(c, v);
                }
            }
            return p == len;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void SetText(int c, ReadOnlySpan<byte> v)
        {
            var interner = _interners[c]!;
            var before = interner.Count;
            var code = interner.GetOrAdd(v);
            if (code == before)
            {
                if (code == _codeCounts[c]!.Length)
                {
                    Array.Resize(ref _codeCounts[c], code * 2);
                    Array.Resize(ref _codeMissing[c], code * 2);
                }
                _codeMissing[c]![code] = v.Length <= _maxMissingLen && CsvReader.IsMissing(v, _missingTokens);
            }
            _rowCode[c] = code;
            _rowState[c] = _codeMissing[c]![code] ? Missing : Valid;
        }

        /// <summary>The general path (quotes, spaces, tokens, exponents, errors): ReadBatches' per-field rules.</summary>
        private string? SlowRow(ReadOnlySpan<byte> rec, out string? column)
        {
            column = null;
            var nc = _kinds.Length;
            var count = CsvReader.Tokenize(rec, _delim, ref _fields);
            if (count < 0) return "malformed quoting (unterminated quote or text after a closing quote)";
            if (count != nc) return $"expected {nc} fields, found {count}";
            for (var c = 0; c < nc; c++)
            {
                var f = _fields[c];
                var v = f.Escaped ? CsvReader.FieldBytes(rec, f, ref _scratch) : rec.Slice(f.Start, f.Length);
                if (_kinds[c] == ColumnKind.String)
                {
                    SetText(c, v);
                    continue;
                }
                if (v.Length <= _maxMissingLen && CsvReader.IsMissing(v, _missingTokens))
                {
                    _rowState[c] = Missing;
                    continue;
                }
                if (_kinds[c] == ColumnKind.Int64)
                {
                    if (!Utf8Number.TryParseInt64(Utf8Number.Trim(v), out var l))
                    {
                        column = _schema.Columns[c].Name;
                        return $"cannot parse '{CsvReader.Show(v)}' as Int64";
                    }
                    _rowValue[c] = l;
                    _rowState[c] = Valid;
                }
                else
                {
                    if (!Utf8Number.TryParseDouble(Utf8Number.Trim(v), out var d))
                    {
                        column = _schema.Columns[c].Name;
                        return $"cannot parse '{CsvReader.Show(v)}' as Float64";
                    }
                    _rowValue[c] = d;
                    _rowState[c] = double.IsNaN(d) ? NaN : Valid;
                }
            }
            return null;
        }
    }
}
