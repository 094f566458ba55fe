using System.Runtime.CompilerServices;
using System.Text;

namespace Serverless.Ml.Data.Csv;

/// <summary>
/// The kind-inference pass of <see cref="CsvReader.Open"/>: reads the first <see cref="CsvReadOptions.InferenceSampleRows"/>
/// records (default: all of them) in parallel blocks and widens each column's kind with every value it sees, int64 ->
/// float64 -> string, so a text value at line 20,002 of a numeric column makes it a string column instead of failing
/// the read later. Columns fixed by <see cref="CsvReadOptions.TypeOverrides"/> keep their kind. The same pass records
/// each numeric column's exact range (min and max of its non-missing, non-NaN values), from which the fused
/// statistics pass fixes the standard histogram's edges up front and counts them exactly without a third read.
/// Rows with a wrong field count or bad quoting are left to the reading pass, which reports them.
/// </summary>
internal static class CsvInference
{
    /// <summary>
    /// The inferred kinds and, per column, its exact numeric range (null when not numeric or without values);
    /// <paramref name="Complete"/> when the pass read the whole input, so the ranges are those of all rows.
    /// </summary>
    public sealed record Result(ColumnKind[] Kinds, ColumnRange?[] Ranges, bool Complete);

    /// <summary>Smallest and largest non-missing, non-NaN value of a numeric column.</summary>
    public readonly record struct ColumnRange(double Min, double Max);

    /// <summary>Infers kinds over the data records of <paramref name="open"/>'s stream.</summary>
    public static Result Run(Func<Stream> open, string path, string[] names, CsvReadOptions options, CancellationToken cancellation = default)
    {
        var fixedKinds = names.Select(c => options.TypeOverrides.TryGetValue(c, out var k) ? k : (ColumnKind?)null).ToArray();
        if (options.InferenceSampleRows == 0 || fixedKinds.All(k => k is not null))
        {
            // Nothing to infer (a column never seen is text: text never fails later); no pass, no ranges.
            return new Result(fixedKinds.Select(k => k ?? ColumnKind.String).ToArray(), new ColumnRange?[names.Length], Complete: false);
        }
        var (result, ahead) = Scan(open, path, fixedKinds, options, options.InferenceSampleRows, cancellation);
        if (ahead is not null) throw ahead;
        return result;
    }

    /// <summary>
    /// The exact numeric ranges of a reader's columns under its final kinds, in one pass over the whole input: for the
    /// statistics pass of a reader whose inference did not read everything (a sample, or every kind fixed).
    /// </summary>
    /// <remarks>
    /// A record too long to read ends this pass without an error: the ranges then miss rows and the histograms are
    /// recounted, while the statistics pass reports that record after the problems of the rows before it.
    /// </remarks>
    public static ColumnRange?[] Ranges(Func<Stream> open, string path, TableSchema schema, CsvReadOptions options, CancellationToken cancellation) =>
        Scan(open, path, schema.Columns.Select(c => (ColumnKind?)c.Kind).ToArray(), options, long.MaxValue, cancellation).Result.Ranges;

    private static (Result Result, CsvFormatException? Ahead) Scan(Func<Stream> open, string path, ColumnKind?[] fixedKinds, CsvReadOptions options, long maxRecords, CancellationToken cancellation)
    {
        var n = fixedKinds.Length;
        var kinds = new ColumnKind[n];
        var ranges = new ColumnRange?[n];
        var missing = options.MissingTokens.Select(t => Encoding.UTF8.GetBytes(t)).ToArray();
        var workers = Enumerable.Range(0, Math.Max(1, options.Parallelism)).Select(_ => new Worker(fixedKinds, (byte)options.Delimiter, missing)).ToArray();
        var ahead = CsvBlockPipeline.Run(open, path, options, maxRecords, (w, block) =>
        {
            workers[w].Scan(block);
            return long.MaxValue;
        }, cancellation);

        for (var c = 0; c < n; c++)
        {
            var canInt = workers.All(w => w.Mode[c] == Worker.IntCandidate);
            var canFloat = workers.All(w => w.Mode[c] is Worker.IntCandidate or Worker.FloatCandidate);
            var seen = workers.Any(w => w.Seen[c]);
            kinds[c] = fixedKinds[c] ?? (!seen ? ColumnKind.String : canInt ? ColumnKind.Int64 : canFloat ? ColumnKind.Float64 : ColumnKind.String);
            if (kinds[c] is ColumnKind.Int64 or ColumnKind.Float64 && workers.Any(w => w.Counted[c]))
                ranges[c] = new ColumnRange(workers.Where(w => w.Counted[c]).Min(w => w.Min[c]), workers.Where(w => w.Counted[c]).Max(w => w.Max[c]));
        }
        return (new Result(kinds, ranges, Complete: maxRecords == long.MaxValue && ahead is null), ahead);
    }

    /// <summary>One worker's view: what its blocks allow per column.</summary>
    private sealed class Worker
    {
        /// <summary>Column modes: text (nothing to look at), inferred and still int64 / float64, fixed int64 / float64.</summary>
        public const byte Text = 0, IntCandidate = 1, FloatCandidate = 2, FixedInt = 3, FixedFloat = 4;
        private const byte Skipped = 0, Int = 1, Float = 2, General = 3;
        private readonly byte _delim;
        private readonly byte[][] _missing;
        private readonly int _maxMissingLen;
        private readonly byte[] _state;
        private readonly int[] _start;
        private readonly int[] _end;
        private readonly double[] _value;
        private CsvReader.FieldRef[] _fields;
        private byte[] _scratch = new byte[256];

        public Worker(ColumnKind?[] fixedKinds, byte delim, byte[][] missing)
        {
            _delim = delim;
            _missing = missing;
            _maxMissingLen = missing.Length == 0 ? -1 : missing.Max(m => m.Length);
            var n = fixedKinds.Length;
            Mode = fixedKinds.Select(k => k switch
            {
                null => IntCandidate,
                ColumnKind.Int64 => FixedInt,
                ColumnKind.Float64 => FixedFloat,
                _ => Text,
            }).ToArray();
            Seen = new bool[n];
            Counted = new bool[n];
            Min = Enumerable.Repeat(double.PositiveInfinity, n).ToArray();
            Max = Enumerable.Repeat(double.NegativeInfinity, n).ToArray();
            _fields = new CsvReader.FieldRef[Math.Max(4, n + 1)];
            _state = new byte[n];
            _start = new int[n];
            _end = new int[n];
            _value = new double[n];
        }

        /// <summary>Per column, one of the mode constants; inferred columns only ever widen (int -> float -> text).</summary>
        public byte[] Mode { get; }

        /// <summary>A non-missing value was seen.</summary>
        public bool[] Seen { get; }

        /// <summary>A value went into <see cref="Min"/> / <see cref="Max"/>.</summary>
        public bool[] Counted { get; }

        public double[] Min { get; }

        public double[] Max { get; }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Scan(CsvBlock block)
        {
            var n = Mode.Length;
            for (var r = 0; r < block.Count; r++)
            {
                var rec = CsvReader.RecordSpan(block, r).Span;
                if (rec.Length == 0 || FastRow(rec)) continue;
                // Quotes, or a wrong field count (left to the reading pass, which reports it).
                if (CsvReader.Tokenize(rec, _delim, ref _fields) != n) continue;
                for (var c = 0; c < n; c++)
                {
                    if (Mode[c] == Text) continue;
                    var f = _fields[c];
                    Value(c, f.Escaped ? CsvReader.FieldBytes(rec, f, ref _scratch) : rec.Slice(f.Start, f.Length));
                }
            }
        }

        /// <summary>
        /// A row without quotes in one pass: plain integers and decimals are parsed while the delimiters are found
        /// (as the statistics pass does), other fields are cut out for <see cref="Value"/>. Everything is staged and
        /// recorded only once the row proved to have the header's field count: a bad row must not widen a kind. False
        /// sends the row to the tokenizer.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private bool FastRow(ReadOnlySpan<byte> rec)
        {
            var mode = Mode;
            var n = mode.Length;
            var len = rec.Length;
            var delim = _delim;
            var p = 0;
            for (var c = 0; c < n; c++)
            {
                if (c > 0)
                {
                    if (p >= len || rec[p] != delim) return false;
                    p++;
                }
                if (p < len && rec[p] == (byte)'"') return false;
                var start = p;
                var m = mode[c];
                if (m == Text)
                {
                    _state[c] = Skipped;
                }
                else if (p == len || rec[p] == delim)
                {
                    _state[c] = General; // empty: a missing token, or not a number
                    _start[c] = p;
                    _end[c] = p;
                    continue;
                }
                else if (m is IntCandidate or FixedInt && Utf8Number.FastInt(rec, ref p, delim, out _value[c]))
                {
                    _state[c] = Int;
                    continue;
                }
                else if (m != FixedInt && Utf8Number.FastDouble(rec, ref p, delim, out _value[c]))
                {
                    _state[c] = Float;
                    continue;
                }
                else
                {
                    _state[c] = General;
                }
                // Short fields dominate: a scalar scan beats a vectorized search's set-up below 16 bytes.
                var lim = Math.Min(len, start + 16);
                while (p < lim && rec[p] != delim) p++;
                if (p == lim && p < len)
                {
                    var k = rec[p..].IndexOf(delim);
                    p = k < 0 ? len : p + k;
                }
                _start[c] = start;
                _end[c] = p;
            }
            if (p != len) return false;
            for (var c = 0; c < n; c++)
            {
                switch (_state[c])
                {
                    case Int:
                        Record(c, _value[c]);
                        break;
                    case Float:
                        if (mode[c] == IntCandidate) mode[c] = FloatCandidate;
                        Record(c, _value[c]);
                        break;
                    case General:
                        Value(c, rec[_start[c].._end[c]]);
                        break;
                }
            }
            return true;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Record(int c, double value)
        {
            Seen[c] = true;
            Counted[c] = true;
            if (value < Min[c]) Min[c] = value;
            if (value > Max[c]) Max[c] = value;
        }

        /// <summary>Widens column <paramref name="c"/> by one field's value (any grammar) and extends its range.</summary>
        private void Value(int c, ReadOnlySpan<byte> v)
        {
            if (v.Length <= _maxMissingLen && CsvReader.IsMissing(v, _missing)) return;
            Seen[c] = true;
            var m = Mode[c];
            var t = Utf8Number.Trim(v);
            double value;
            if (m is IntCandidate or FixedInt && Utf8Number.TryParseInt64(t, out var l))
            {
                value = l;
            }
            else if (m == FixedInt)
            {
                return; // a bad row for the reading pass
            }
            else
            {
                if (!Utf8Number.TryParseDouble(t, out value))
                {
                    if (m != FixedFloat) Mode[c] = Text;
                    return;
                }
                if (m == IntCandidate) Mode[c] = FloatCandidate;
                if (double.IsNaN(value)) return;
            }
            Record(c, value);
        }
    }
}
