using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Serverless.Ml.Data.ExampleGen;
using Serverless.Ml.Data.Sketches;

namespace Serverless.Ml.Data.Statistics;

/// <summary>Options for <see cref="StatisticsBuilder"/>; defaults follow TFDV.</summary>
public sealed class StatisticsOptions
{
    /// <summary>Buckets of the equal-width histogram. Default 10.</summary>
    public int NumHistogramBuckets { get; set; } = 10;

    /// <summary>Buckets of the quantiles histogram. Default 10.</summary>
    public int NumQuantilesHistogramBuckets { get; set; } = 10;

    /// <summary>Top values kept for text features. Default 20.</summary>
    public int NumTopValues { get; set; } = 20;

    /// <summary>Buckets of the rank histogram. Default 20.</summary>
    public int NumRankHistogramBuckets { get; set; } = 20;

    /// <summary>KLL accuracy parameter: 200 gives ~1.65% rank error (99% confidence). Default 200.</summary>
    public int QuantileSketchK { get; set; } = 200;

    /// <summary>
    /// Distinct text values counted exactly per feature. Beyond it the least frequent half is pruned, unique counts
    /// switch to the HyperLogLog estimate and <see cref="StringStatistics.CountErrorBound"/> records the worst undercount.
    /// Default 100,000.
    /// </summary>
    public int MaxExactDistinct { get; set; } = 100_000;

    /// <summary>Emit every value with its count (<see cref="StringStatistics.Values"/>) up to this many distinct values, for validation. Default 1,000.</summary>
    public int MaxValuesInOutput { get; set; } = 1_000;

    /// <summary>Compute features of a batch in parallel. Default true.</summary>
    public bool Parallel { get; set; } = true;
}

/// <summary>
/// Computes what TFDV's StatisticsGen computes, in one streaming pass with bounded memory: per feature presence and
/// value counts; for numbers mean, standard deviation, zeros, NaNs, exact min/max, median and histograms (equal
/// width and quantiles, both derived from a KLL sketch as TFDV does); for text unique count, top values, average
/// length and a rank histogram; for bytes lengths and a distinct estimate.
/// Builders of shards merge (<see cref="Merge"/>): counts, sums, min/max exactly, mean and variance exactly via
/// Chan et al.'s parallel formula, quantiles within the KLL bound, distinct counts exactly up to a cap then by
/// HyperLogLog. Partial state serializes (<see cref="ToPartialJson"/>) so shards can be computed by separate activities.
/// A feature whose type changes between batches or shards keeps its first type and lists the others in
/// <see cref="FeatureNameStatistics.ConflictingTypes"/>, for the validator to report.
/// </summary>
public sealed class StatisticsBuilder
{
    private readonly StatisticsOptions _options;
    private readonly List<FeatureAccumulator> _features = [];
    private readonly Dictionary<string, FeatureAccumulator> _byName = new(StringComparer.Ordinal);

    /// <summary>Creates an empty builder.</summary>
    public StatisticsBuilder(StatisticsOptions? options = null)
    {
        _options = options ?? new StatisticsOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.NumHistogramBuckets, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.NumQuantilesHistogramBuckets, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxExactDistinct, 2);
    }

    /// <summary>Rows seen.</summary>
    public long NumExamples { get; private set; }

    /// <summary>
    /// Computes statistics of everything a reader yields. A <see cref="Csv.CsvReader"/> takes the fused path (parse
    /// straight into per-thread partial statistics, merged at the end; no batches); other readers stream batches.
    /// </summary>
    public static DatasetFeatureStatistics Compute(IRecordBatchReader reader, string name, StatisticsOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        if (reader is Csv.CsvReader csv && csv.ComputeStatistics(options ?? new StatisticsOptions(), cancellation) is { } fused) return fused.Build(name);
        var b = new StatisticsBuilder(options);
        foreach (var batch in reader.ReadBatches(cancellation)) b.Add(batch);
        return b.Build(name);
    }

    /// <summary>The type statistics use for a column kind.</summary>
    public static FeatureType TypeOf(ColumnKind kind) => kind switch
    {
        ColumnKind.Int64 => FeatureType.INT,
        ColumnKind.Float64 or ColumnKind.Float32Tensor => FeatureType.FLOAT,
        ColumnKind.String => FeatureType.STRING,
        _ => FeatureType.BYTES,
    };

    /// <summary>Adds a batch.</summary>
    public void Add(RecordBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var accs = new FeatureAccumulator[batch.Columns.Count];
        for (var c = 0; c < accs.Length; c++)
        {
            var spec = batch.Schema.Columns[c];
            if (!_byName.TryGetValue(spec.Name, out var acc))
            {
                acc = new FeatureAccumulator { Name = spec.Name, Type = TypeOf(spec.Kind), Missing = NumExamples };
                acc.Init(_options);
                _features.Add(acc);
                _byName[spec.Name] = acc;
            }
            accs[c] = acc;
        }
        var present = new HashSet<string>(batch.Schema.Columns.Select(c => c.Name), StringComparer.Ordinal);
        foreach (var f in _features) if (!present.Contains(f.Name)) f.Missing += batch.RowCount;
        if (_options.Parallel && accs.Length > 1)
            System.Threading.Tasks.Parallel.For(0, accs.Length, c => accs[c].Add(batch.Columns[c], _options));
        else
            for (var c = 0; c < accs.Length; c++) accs[c].Add(batch.Columns[c], _options);
        NumExamples += batch.RowCount;
    }

    /// <summary>Accumulators for a schema's columns, in schema order (created like <see cref="Add"/> does); for fused readers.</summary>
    internal FeatureAccumulator[] Register(TableSchema schema)
    {
        var accs = new FeatureAccumulator[schema.Columns.Count];
        for (var c = 0; c < accs.Length; c++)
        {
            var spec = schema.Columns[c];
            if (!_byName.TryGetValue(spec.Name, out var acc))
            {
                acc = new FeatureAccumulator { Name = spec.Name, Type = TypeOf(spec.Kind), Missing = NumExamples };
                acc.Init(_options);
                _features.Add(acc);
                _byName[spec.Name] = acc;
            }
            accs[c] = acc;
        }
        return accs;
    }

    /// <summary>Counts rows that a fused reader fed straight into the accumulators of <see cref="Register"/>.</summary>
    internal void AddRowCount(long rows) => NumExamples += rows;

    /// <summary>The options in use.</summary>
    internal StatisticsOptions Options => _options;

    /// <summary>Folds another builder (e.g. another shard's) into this one.</summary>
    public void Merge(StatisticsBuilder other)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (var f in _features) if (!other._byName.ContainsKey(f.Name)) f.Missing += other.NumExamples;
        foreach (var o in other._features)
        {
            if (!_byName.TryGetValue(o.Name, out var mine))
            {
                mine = new FeatureAccumulator { Name = o.Name, Type = o.Type, Missing = NumExamples };
                mine.Init(_options);
                _features.Add(mine);
                _byName[o.Name] = mine;
            }
            mine.Merge(o, _options);
        }
        NumExamples += other.NumExamples;
    }

    /// <summary>Serializes the partial state (sketches included) for merging elsewhere.</summary>
    public string ToPartialJson()
    {
        foreach (var f in _features) f.SyncState();
        return JsonSerializer.Serialize(new PartialState { NumExamples = NumExamples, Features = _features }, PartialJson);
    }

    /// <summary>Restores a builder from <see cref="ToPartialJson"/>.</summary>
    public static StatisticsBuilder FromPartialJson(string json, StatisticsOptions? options = null)
    {
        var state = JsonSerializer.Deserialize<PartialState>(json, PartialJson) ?? throw new InvalidDataException("partial statistics JSON is null");
        var b = new StatisticsBuilder(options) { NumExamples = state.NumExamples };
        foreach (var f in state.Features)
        {
            f.Restore(b._options);
            b._features.Add(f);
            b._byName[f.Name] = f;
        }
        return b;
    }

    private static readonly JsonSerializerOptions PartialJson = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        IncludeFields = false,
    };

    /// <summary>Produces the statistics of everything added so far.</summary>
    public DatasetFeatureStatistics Build(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return new DatasetFeatureStatistics
        {
            Name = name,
            NumExamples = NumExamples,
            Features = _features.Select(f => f.Build(_options)).ToList(),
        };
    }

    internal sealed class PartialState
    {
        public long NumExamples { get; set; }

        public List<FeatureAccumulator> Features { get; set; } = [];
    }
}

/// <summary>Mutable per-feature state; public properties only so that partial state serializes.</summary>
internal sealed class FeatureAccumulator
{
    public string Name { get; set; } = string.Empty;

    public FeatureType Type { get; set; }

    public List<FeatureType> Conflicts { get; set; } = [];

    public long NonMissing { get; set; }

    public long Missing { get; set; }

    public long MinNumValues { get; set; } = long.MaxValue;

    public long MaxNumValues { get; set; }

    public long TotNumValues { get; set; }

    // numeric
    public long Count { get; set; }

    public double Mean { get; set; }

    public double M2 { get; set; }

    public long Zeros { get; set; }

    public long Nan { get; set; }

    public KllState? Kll { get; set; }

    // text and bytes
    public Dictionary<string, long>? Counts { get; set; }

    public long TotalLength { get; set; }

    public long CountErrorBound { get; set; }

    public bool Pruned { get; set; }

    public byte[]? Hll { get; set; }

    public long MinBytes { get; set; } = long.MaxValue;

    public long MaxBytes { get; set; }

    [JsonIgnore]
    public KllSketch? Sketch { get; private set; }

    [JsonIgnore]
    public HyperLogLog? Distinct { get; private set; }

    private bool IsNumeric => Type is FeatureType.INT or FeatureType.FLOAT;

    public void Init(StatisticsOptions o)
    {
        if (IsNumeric) Sketch = new KllSketch(o.QuantileSketchK);
        else
        {
            Distinct = new HyperLogLog();
            if (Type == FeatureType.STRING) Counts = new Dictionary<string, long>(StringComparer.Ordinal);
        }
    }

    public void SyncState()
    {
        Kll = Sketch?.ToState();
        Hll = Distinct?.Registers;
    }

    public void Restore(StatisticsOptions o)
    {
        if (IsNumeric) Sketch = Kll is null ? new KllSketch(o.QuantileSketchK) : KllSketch.FromState(Kll);
        else
        {
            Distinct = Hll is null ? new HyperLogLog() : HyperLogLog.FromRegisters(Hll);
            if (Type == FeatureType.STRING) Counts ??= new Dictionary<string, long>(StringComparer.Ordinal);
        }
        Kll = null;
        Hll = null;
    }

    public void Add(Column column, StatisticsOptions o)
    {
        var n = column.Length;
        var missing = column.CountMissing();
        Missing += missing;
        var present = n - missing;
        NonMissing += present;
        if (present == 0) return;
        var per = column.Spec.ValuesPerRow;
        MinNumValues = Math.Min(MinNumValues, per);
        MaxNumValues = Math.Max(MaxNumValues, per);
        TotNumValues += (long)present * per;
        var type = StatisticsBuilder.TypeOf(column.Spec.Kind);
        if (type != Type)
        {
            if (!Conflicts.Contains(type)) Conflicts.Add(type);
            return;
        }
        switch (column)
        {
            case Float64Column d: AddFloat64(d); break;
            case Float32TensorColumn t: AddTensor(t); break;
            case Int64Column l: AddInt(l); break;
            case StringColumn s: AddStrings(s, o); break;
            case BytesColumn b: AddBytes(b); break;
        }
    }

    /// <summary>
    /// Fused-reader entry for a numeric feature of one block: <paramref name="valid"/> holds the non-missing,
    /// non-NaN values; <paramref name="present"/> counts non-missing rows (NaNs included). Same arithmetic as
    /// <see cref="Add"/> on the equivalent column.
    /// </summary>
    public void AddNumericBlock(ReadOnlySpan<double> valid, long present, long missing, long nan)
    {
        if (!AddPresence(present, missing)) return;
        Nan += nan;
        AddValid(valid);
    }

    /// <summary>Common statistics of one block of a scalar feature; false when nothing is present.</summary>
    public bool AddPresence(long present, long missing)
    {
        Missing += missing;
        NonMissing += present;
        if (present == 0) return false;
        MinNumValues = Math.Min(MinNumValues, 1);
        MaxNumValues = Math.Max(MaxNumValues, 1);
        TotNumValues += present;
        return true;
    }

    /// <summary>
    /// Fused-reader entry for a text feature: folds the distinct values of <paramref name="interner"/> with their
    /// counts (codes flagged in <paramref name="isMissing"/> are missing tokens and skipped) into the exact
    /// counts, lengths and the HyperLogLog, then prunes as <see cref="Add"/> does.
    /// </summary>
    internal void AddInterned(Utf8Interner interner, long[] counts, bool[] isMissing, StatisticsOptions o)
    {
        var any = false;
        for (var k = 0; k < interner.Count; k++)
        {
            if (counts[k] == 0 || isMissing[k]) continue;
            var bytes = interner.Get(k);
            TotalLength += bytes.Length * counts[k];
            Distinct!.Add(RowHasher.Mix(RowHasher.Fnv(bytes)));
            var v = Encoding.UTF8.GetString(bytes);
            ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(Counts!, v, out _);
            slot += counts[k];
            any = true;
        }
        if (any) Prune(o);
    }

    [JsonIgnore]
    private double[] _scratch = [];

    private Span<double> Scratch(int n)
    {
        if (_scratch.Length < n) _scratch = new double[n];
        return _scratch.AsSpan(0, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddFloat64(Float64Column d)
    {
        var n = d.Length;
        var dst = Scratch(n);
        var values = d.Values;
        var missing = d.Missing;
        long nan = 0;
        var k = 0;
        for (var i = 0; i < n; i++)
        {
            if (missing[i]) continue;
            var v = values[i];
            if (double.IsNaN(v)) { nan++; continue; }
            dst[k++] = v;
        }
        Nan += nan;
        AddValid(dst[..k]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddInt(Int64Column l)
    {
        var n = l.Length;
        var dst = Scratch(n);
        var values = l.Values;
        var missing = l.Missing;
        var k = 0;
        for (var i = 0; i < n; i++) if (!missing[i]) dst[k++] = values[i];
        AddValid(dst[..k]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddTensor(Float32TensorColumn t)
    {
        var per = t.Spec.ValuesPerRow;
        var dst = Scratch(t.Length * per);
        long nan = 0;
        var k = 0;
        for (var r = 0; r < t.Length; r++)
        {
            if (t.Missing[r]) continue;
            foreach (var f in t.GetRow(r))
            {
                if (float.IsNaN(f)) { nan++; continue; }
                dst[k++] = f;
            }
        }
        Nan += nan;
        AddValid(dst[..k]);
    }

    /// <summary>Non-missing, non-NaN values: two passes (mean, then squared deviations) then a Chan merge.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddValid(ReadOnlySpan<double> values)
    {
        if (values.Length == 0) return;
        double sum = 0;
        long zeros = 0;
        foreach (var v in values)
        {
            sum += v;
            if (v == 0) zeros++;
        }
        var mean = sum / values.Length;
        double m2 = 0;
        foreach (var v in values)
        {
            var dv = v - mean;
            m2 += dv * dv;
        }
        Combine(values.Length, mean, m2);
        Zeros += zeros;
        Sketch!.AddRange(values);
    }

    private void Combine(long nb, double meanB, double m2B)
    {
        // Chan, Golub, LeVeque (1979): exact combination of counts, means and sums of squared deviations.
        var na = Count;
        var total = na + nb;
        var delta = meanB - Mean;
        Mean += delta * nb / total;
        M2 += m2B + (delta * delta * na * nb / total);
        Count = total;
    }

    private void AddStrings(StringColumn s, StatisticsOptions o)
    {
        var cc = new long[s.Dictionary.Count];
        for (var i = 0; i < s.Length; i++) if (!s.Missing[i]) cc[s.Codes[i]]++;
        for (var k = 0; k < cc.Length; k++)
        {
            if (cc[k] == 0) continue;
            var v = s.Dictionary[k];
            var bytes = Encoding.UTF8.GetBytes(v);
            TotalLength += bytes.Length * cc[k];
            Distinct!.Add(RowHasher.Mix(RowHasher.Fnv(bytes)));
            Counts![v] = Counts.GetValueOrDefault(v) + cc[k];
        }
        Prune(o);
    }

    private void Prune(StatisticsOptions o)
    {
        if (Counts!.Count <= o.MaxExactDistinct) return;
        var ordered = Counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var keep = o.MaxExactDistinct / 2;
        CountErrorBound += ordered[keep].Value;
        Pruned = true;
        Counts = ordered.Take(keep).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }

    private void AddBytes(BytesColumn b)
    {
        for (var i = 0; i < b.Length; i++)
        {
            if (b.Missing[i]) continue;
            var v = b.Values[i] ?? [];
            TotalLength += v.Length;
            MinBytes = Math.Min(MinBytes, v.Length);
            MaxBytes = Math.Max(MaxBytes, v.Length);
            Distinct!.Add(RowHasher.Mix(RowHasher.Fnv(v)));
        }
    }

    public void Merge(FeatureAccumulator o, StatisticsOptions opts)
    {
        NonMissing += o.NonMissing;
        Missing += o.Missing;
        if (o.NonMissing > 0)
        {
            MinNumValues = Math.Min(MinNumValues, o.MinNumValues);
            MaxNumValues = Math.Max(MaxNumValues, o.MaxNumValues);
        }
        TotNumValues += o.TotNumValues;
        foreach (var t in o.Conflicts.Append(o.Type)) if (t != Type && !Conflicts.Contains(t)) Conflicts.Add(t);
        if (o.Type != Type) return; // values of another type are not mixed in; the conflict is recorded
        if (IsNumeric)
        {
            if (o.Count > 0) Combine(o.Count, o.Mean, o.M2);
            Zeros += o.Zeros;
            Nan += o.Nan;
            Sketch!.Merge(o.Sketch!);
            return;
        }
        TotalLength += o.TotalLength;
        Distinct!.Merge(o.Distinct!);
        MinBytes = Math.Min(MinBytes, o.MinBytes);
        MaxBytes = Math.Max(MaxBytes, o.MaxBytes);
        if (Counts is null || o.Counts is null) return;
        foreach (var (k, v) in o.Counts) Counts[k] = Counts.GetValueOrDefault(k) + v;
        CountErrorBound += o.CountErrorBound;
        Pruned |= o.Pruned;
        Prune(opts);
    }

    public FeatureNameStatistics Build(StatisticsOptions o)
    {
        var common = new CommonStatistics
        {
            NumNonMissing = NonMissing,
            NumMissing = Missing,
            MinNumValues = NonMissing == 0 ? 0 : MinNumValues,
            MaxNumValues = MaxNumValues,
            TotNumValues = TotNumValues,
            AvgNumValues = NonMissing == 0 ? 0 : (double)TotNumValues / NonMissing,
        };
        var f = new FeatureNameStatistics { Name = Name, Type = Type, ConflictingTypes = Conflicts.Count == 0 ? null : [.. Conflicts] };
        switch (Type)
        {
            case FeatureType.INT or FeatureType.FLOAT:
                f.NumStats = BuildNumeric(common, o);
                break;
            case FeatureType.STRING:
                f.StringStats = BuildStrings(common, o);
                break;
            default:
                f.BytesStats = new BytesStatistics
                {
                    CommonStats = common,
                    Unique = NonMissing == 0 ? 0 : Distinct!.Estimate(),
                    AvgNumBytes = NonMissing == 0 ? 0 : (double)TotalLength / NonMissing,
                    MinNumBytes = NonMissing == 0 ? 0 : MinBytes,
                    MaxNumBytes = MaxBytes,
                };
                break;
        }
        return f;
    }

    private NumericStatistics BuildNumeric(CommonStatistics common, StatisticsOptions o)
    {
        var sk = Sketch!;
        var s = new NumericStatistics
        {
            CommonStats = common,
            Mean = Count == 0 ? double.NaN : Mean,
            StdDev = Count == 0 ? double.NaN : Math.Sqrt(M2 / Count),
            NumZeros = Zeros,
            NumNan = Nan,
            Min = Count == 0 ? double.NaN : sk.Min,
            Max = Count == 0 ? double.NaN : sk.Max,
            Median = Count == 0 ? double.NaN : sk.Quantile(0.5),
            QuantilesExact = sk.IsExact,
        };
        if (Count == 0) return s;
        var (values, weights) = sk.SortedItems();
        // Equal-width histogram, counted from the sketch's weighted items (TFDV derives it from its sketch too).
        var standard = new Histogram { Type = "STANDARD", NumNan = Nan };
        var lo = sk.Min;
        var hi = sk.Max;
        var nb = lo == hi || !double.IsFinite(hi - lo) ? 1 : o.NumHistogramBuckets;
        var width = (hi - lo) / nb;
        var counts = new double[nb];
        for (var i = 0; i < values.Length; i++)
        {
            var b = nb == 1 ? 0 : Math.Clamp((int)Math.Floor((values[i] - lo) / width), 0, nb - 1);
            // Division rounding may disagree with the reported edges; the edges decide.
            while (b > 0 && values[i] < lo + (b * width)) b--;
            while (b < nb - 1 && values[i] >= lo + ((b + 1) * width)) b++;
            counts[b] += weights[i];
        }
        for (var b = 0; b < nb; b++)
            standard.Buckets.Add(new HistogramBucket { LowValue = lo + (b * width), HighValue = b == nb - 1 ? hi : lo + ((b + 1) * width), SampleCount = counts[b] });
        var qn = o.NumQuantilesHistogramBuckets;
        var edges = sk.Quantiles(Enumerable.Range(0, qn + 1).Select(i => (double)i / qn).ToArray());
        var quantiles = new Histogram { Type = "QUANTILES", NumNan = Nan };
        for (var b = 0; b < qn; b++)
            quantiles.Buckets.Add(new HistogramBucket { LowValue = edges[b], HighValue = edges[b + 1], SampleCount = (double)Count / qn });
        s.Histograms = [standard, quantiles];
        return s;
    }

    private StringStatistics BuildStrings(CommonStatistics common, StatisticsOptions o)
    {
        var counts = Counts!;
        var ordered = counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        var s = new StringStatistics
        {
            CommonStats = common,
            Unique = Pruned ? Distinct!.Estimate() : counts.Count,
            UniqueIsEstimate = Pruned,
            AvgLength = NonMissing == 0 ? 0 : (double)TotalLength / NonMissing,
            CountErrorBound = CountErrorBound,
            TopValues = ordered.Take(o.NumTopValues).Select(kv => new ValueCount { Value = kv.Key, Frequency = kv.Value }).ToList(),
        };
        s.RankHistogram.Buckets = ordered.Take(o.NumRankHistogramBuckets)
            .Select((kv, i) => new RankBucket { LowRank = i, HighRank = i, Label = kv.Key, SampleCount = kv.Value }).ToList();
        if (!Pruned && counts.Count <= o.MaxValuesInOutput)
            s.Values = ordered.Select(kv => new ValueCount { Value = kv.Key, Frequency = kv.Value }).ToList();
        return s;
    }
}
