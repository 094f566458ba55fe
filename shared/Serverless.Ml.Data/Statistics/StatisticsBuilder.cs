using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Serverless.Ml.Data.ExampleGen;
using Serverless.Ml.Data.Sketches;

namespace Serverless.Ml.Data.Statistics;

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
    /// When a standard histogram cannot be counted exactly in that pass (more values than the sketch keeps and edges
    /// not known up front), the reader is read a second time by a <see cref="HistogramPass"/>.
    /// </summary>
    public static DatasetFeatureStatistics Compute(IRecordBatchReader reader, string name, StatisticsOptions? options = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var b = reader is Csv.CsvReader csv ? csv.ComputeStatistics(options ?? new StatisticsOptions(), cancellation) : null;
        if (b is null)
        {
            b = new StatisticsBuilder(options);
            foreach (var batch in reader.ReadBatches(cancellation)) b.Add(batch);
        }
        if (b.CreateHistogramPass() is { } pass)
        {
            foreach (var batch in reader.ReadBatches(cancellation)) pass.Add(batch);
            b.CompleteHistogramPass(pass);
        }
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

    /// <summary>
    /// A pass that counts the standard histograms exactly (see <see cref="HistogramPass"/>), for every numeric feature
    /// whose histogram the data added so far cannot give exactly; null when none needs one (the sketch still holds
    /// every value, or the feature has one distinct value). Call it once everything is added or merged: the edges are
    /// the exact min and max of now. Each call returns an independent pass with the same edges (one per shard).
    /// </summary>
    public HistogramPass? CreateHistogramPass()
    {
        var features = new Dictionary<string, (FeatureType, EqualWidthCounts)>(StringComparer.Ordinal);
        foreach (var f in _features)
        {
            if (f.NeedsHistogramPass(_options) is { } edges) features[f.Name] = (f.Type, edges);
        }
        return features.Count == 0 ? null : new HistogramPass(features);
    }

    /// <summary>Takes the exact counts of a finished <see cref="HistogramPass"/> (passes over shards merged first).</summary>
    /// <exception cref="InvalidDataException">
    /// The pass counted another number of values than the first pass saw (the data changed between the passes, or the
    /// pass did not read all of it); the message names the feature.
    /// </exception>
    public void CompleteHistogramPass(HistogramPass pass)
    {
        ArgumentNullException.ThrowIfNull(pass);
        foreach (var (name, counts) in pass.Counts)
        {
            if (!_byName.TryGetValue(name, out var f)) throw new ArgumentException($"feature '{name}' is not in these statistics", nameof(pass));
            if (counts.Total != f.Count)
            {
                throw new InvalidDataException($"feature '{name}': the histogram pass counted {counts.Total} values, the statistics pass {f.Count}; the data changed between the two reads");
            }
        }
        foreach (var (name, counts) in pass.Counts) _byName[name].Standard = counts.Clone();
    }

    /// <summary>Fixes the standard histogram's edges of a numeric feature before its values arrive (a reader that already knows the exact range), so it is counted exactly in the same pass.</summary>
    internal void PresetHistogramRange(string name, double min, double max)
    {
        if (_byName.TryGetValue(name, out var f) && f.Count == 0 && f.Type is FeatureType.INT or FeatureType.FLOAT)
            f.Standard = EqualWidthCounts.For(min, max, _options.NumHistogramBuckets);
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

    /// <summary>Text values holding U+FFFD: invalid UTF-8 replaced when read (TFDV's invalid_utf8_count).</summary>
    public long InvalidUtf8 { get; set; }

    /// <summary>Text values holding a NUL character.</summary>
    public long Nul { get; set; }

    public bool Pruned { get; set; }

    public byte[]? Hll { get; set; }

    public long MinBytes { get; set; } = long.MaxValue;

    /// <summary>Exact standard-histogram counts against fixed edges (preset by a reader or from a histogram pass); null when not counted.</summary>
    public EqualWidthCounts? Standard { get; set; }

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
            case Float64Column or Float32TensorColumn or Int64Column: AddNumeric(column); break;
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
            CountOddText(v, counts[k]);
            ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(Counts!, v, out _);
            slot += counts[k];
            any = true;
        }
        if (any) Prune(o);
    }

    [JsonIgnore]
    private double[] _scratch = [];

    private void AddNumeric(Column column)
    {
        var valid = ValidValues(column, ref _scratch, out var nan);
        Nan += nan;
        AddValid(valid);
    }

    /// <summary>The non-missing, non-NaN values of a numeric column (tensors flattened) as doubles, in a reused buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static ReadOnlySpan<double> ValidValues(Column column, ref double[] scratch, out long nan)
    {
        nan = 0;
        var per = column.Spec.ValuesPerRow;
        var needed = column.Length * per;
        if (scratch.Length < needed) scratch = new double[needed];
        var dst = scratch;
        var k = 0;
        switch (column)
        {
            case Float64Column d:
            {
                var values = d.Values;
                var missing = d.Missing;
                for (var i = 0; i < d.Length; i++)
                {
                    if (missing[i]) continue;
                    var v = values[i];
                    if (double.IsNaN(v)) { nan++; continue; }
                    dst[k++] = v;
                }
                break;
            }
            case Int64Column l:
            {
                var values = l.Values;
                var missing = l.Missing;
                for (var i = 0; i < l.Length; i++) if (!missing[i]) dst[k++] = values[i];
                break;
            }
            case Float32TensorColumn t:
                for (var r = 0; r < t.Length; r++)
                {
                    if (t.Missing[r]) continue;
                    foreach (var f in t.GetRow(r))
                    {
                        if (float.IsNaN(f)) { nan++; continue; }
                        dst[k++] = f;
                    }
                }
                break;
        }
        return dst.AsSpan(0, k);
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
        Standard?.Add(values);
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
            CountOddText(v, cc[k]);
            var bytes = Encoding.UTF8.GetBytes(v);
            TotalLength += bytes.Length * cc[k];
            Distinct!.Add(RowHasher.Mix(RowHasher.Fnv(bytes)));
            Counts![v] = Counts.GetValueOrDefault(v) + cc[k];
        }
        Prune(o);
    }

    /// <summary>
    /// Counts values that are present but suspect: a NUL character, or U+FFFD, which is what invalid UTF-8 becomes when
    /// text is decoded (CSV and tf.Example bytes alike), so both are reported instead of passing silently.
    /// </summary>
    private void CountOddText(string v, long count)
    {
        if (v.Contains('\0', StringComparison.Ordinal)) Nul += count;
        if (v.Contains('\uFFFD', StringComparison.Ordinal)) InvalidUtf8 += count;
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
            // Exact counts add up only over the same edges; otherwise a histogram pass recounts.
            if (Count == 0 && o.Standard is not null) Standard = o.Standard.Clone();
            else if (o.Count > 0) Standard = Standard is not null && o.Standard is not null && Standard.SameEdges(o.Standard) ? Merged(Standard, o.Standard) : null;
            if (o.Count > 0) Combine(o.Count, o.Mean, o.M2);
            Zeros += o.Zeros;
            Nan += o.Nan;
            Sketch!.Merge(o.Sketch!);
            return;
        }
        TotalLength += o.TotalLength;
        InvalidUtf8 += o.InvalidUtf8;
        Nul += o.Nul;
        Distinct!.Merge(o.Distinct!);
        MinBytes = Math.Min(MinBytes, o.MinBytes);
        MaxBytes = Math.Max(MaxBytes, o.MaxBytes);
        if (Counts is null || o.Counts is null) return;
        foreach (var (k, v) in o.Counts) Counts[k] = Counts.GetValueOrDefault(k) + v;
        CountErrorBound += o.CountErrorBound;
        Pruned |= o.Pruned;
        Prune(opts);
    }

    private static EqualWidthCounts Merged(EqualWidthCounts mine, EqualWidthCounts other)
    {
        mine.Merge(other);
        return mine;
    }

    /// <summary>
    /// The edges a histogram pass must count against, or null when the standard histogram is exact without one: no
    /// values, a single bucket, a sketch that still holds every value, or counts already taken against these edges.
    /// </summary>
    public EqualWidthCounts? NeedsHistogramPass(StatisticsOptions o)
    {
        if (!IsNumeric || Count == 0) return null;
        var edges = EqualWidthCounts.For(Sketch!.Min, Sketch.Max, o.NumHistogramBuckets);
        if (edges.Buckets == 1 || Sketch.IsExact) return null;
        return Standard is { } s && s.SameEdges(edges) && s.Total == Count ? null : edges;
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
        // Equal-width histogram: exact counts when a reader preset the edges or a histogram pass counted them; else from
        // the sketch's items, which is exact while the sketch holds every value (and within the KLL bound beyond).
        var standard = new Histogram { Type = "STANDARD", NumNan = Nan };
        var counts = Standard is { } exact && exact.Fits(sk.Min, sk.Max, o.NumHistogramBuckets) && exact.Total == Count ? exact : null;
        if (counts is null)
        {
            counts = EqualWidthCounts.For(sk.Min, sk.Max, o.NumHistogramBuckets);
            var (values, weights) = sk.SortedItems();
            for (var i = 0; i < values.Length; i++) counts.Add(values[i], weights[i]);
        }
        for (var b = 0; b < counts.Buckets; b++)
            standard.Buckets.Add(new HistogramBucket { LowValue = counts.LowEdge(b), HighValue = counts.HighEdge(b), SampleCount = counts.Counts[b] });
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
            InvalidUtf8Count = InvalidUtf8,
            NulCount = Nul,
            TopValues = ordered.Take(o.NumTopValues).Select(kv => new ValueCount { Value = kv.Key, Frequency = kv.Value }).ToList(),
        };
        s.RankHistogram.Buckets = ordered.Take(o.NumRankHistogramBuckets)
            .Select((kv, i) => new RankBucket { LowRank = i, HighRank = i, Label = kv.Key, SampleCount = kv.Value }).ToList();
        if (!Pruned && counts.Count <= o.MaxValuesInOutput)
            s.Values = ordered.Select(kv => new ValueCount { Value = kv.Key, Frequency = kv.Value }).ToList();
        return s;
    }
}
