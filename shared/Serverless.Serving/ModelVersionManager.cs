using Serverless.Ml.Onnx.Runtime;
using Serverless.Storage;

namespace Serverless.Serving;

/// <summary>
/// Keeps the repository's models loaded (TF Serving's manager): polls for complete versions, loads new ones
/// before unloading old ones (availability first), keeps the <see cref="ServingOptions.KeepVersions"/> newest
/// loaded versions plus labelled ones, and unloads the rest once their in-flight requests finish. A loaded version
/// whose files disappear keeps serving while no other version of the model is available. A version
/// that fails to load goes to END with the error; the versions already serving keep serving, and the same
/// push is not retried (a re-push, i.e. a new marker, is).
/// </summary>
public sealed class ModelVersionManager : IAsyncDisposable
{
    private readonly ModelRepository _repository;
    private readonly ServingOptions _options;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, ModelConfig> _configs;
    private readonly SemaphoreSlim _pollGate = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private volatile Dictionary<string, ModelEntry> _models = new(StringComparer.Ordinal);
    private Task? _loop;

    /// <summary>Creates a manager; call <see cref="StartAsync"/> to load and start polling.</summary>
    public ModelVersionManager(ModelRepository repository, ServingOptions? options = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(repository);
        _repository = repository;
        _options = options ?? new ServingOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.KeepVersions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_options.PollInterval, TimeSpan.Zero);
        _time = time ?? TimeProvider.System;
        _configs = _options.Models.ToDictionary(m => m.Name, StringComparer.Ordinal);
        foreach (var c in _options.Models)
            if (!ModelRepository.IsValidModelName(c.Name)) throw new ArgumentException($"'{c.Name}' is not a valid model name.", nameof(options));
    }

    /// <summary>Raised (on the polling thread, or the thread releasing the last reference) whenever a version changes state.</summary>
    public event Action<ModelVersionStatus>? StateChanged;

    /// <summary>The repository served.</summary>
    public ModelRepository Repository => _repository;

    /// <summary>Names of the models currently known (configured or found).</summary>
    public IReadOnlyCollection<string> ModelNames => _models.Keys;

    /// <summary>Polls once, then keeps polling every <see cref="ServingOptions.PollInterval"/> until disposed.</summary>
    public async Task StartAsync(CancellationToken cancellation = default)
    {
        if (_loop is not null) throw new InvalidOperationException("The manager is already started.");
        await PollOnceAsync(cancellation);
        _loop = Task.Run(() => PollLoopAsync(_stop.Token), CancellationToken.None);
    }

    /// <summary>
    /// Brings the loaded versions in line with the repository now (what the polling loop does each
    /// interval); a Pusher in the same process can call it right after publishing.
    /// </summary>
    public async Task PollOnceAsync(CancellationToken cancellation = default)
    {
        await _pollGate.WaitAsync(cancellation);
        try
        {
            var names = _configs.Count > 0 ? _configs.Keys.ToList() : await _repository.ListModelsAsync(cancellation);
            var models = _models;
            if (names.Any(n => !models.ContainsKey(n)))
            {
                var grown = new Dictionary<string, ModelEntry>(models, StringComparer.Ordinal);
                foreach (var n in names) if (!grown.ContainsKey(n)) grown[n] = new ModelEntry(n, _configs.GetValueOrDefault(n));
                _models = models = grown;
            }
            foreach (var name in names) await SyncModelAsync(models[name], cancellation);
        }
        finally
        {
            _pollGate.Release();
        }
    }

    /// <summary>Points <paramref name="label"/> of <paramref name="model"/> at <paramref name="version"/> (null removes it).</summary>
    public void SetVersionLabel(string model, string label, long? version)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(label);
        var entry = GetModel(model);
        lock (entry)
        {
            var labels = new Dictionary<string, long>(entry.Labels, StringComparer.Ordinal);
            if (version is { } v) labels[label] = v;
            else labels.Remove(label);
            entry.Labels = labels;
        }
    }

    /// <summary>
    /// Takes a reference to the version a request asks for; dispose the handle when done with it.
    /// </summary>
    /// <exception cref="ServingException">404: unknown model, version or label, or the version is not available.</exception>
    public ServableHandle Acquire(string model, VersionSelector selector = default)
    {
        var entry = GetModel(model);
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var available = entry.Available;
            ServableVersion? chosen = null;
            if (selector.Version is null && selector.Label is null)
            {
                chosen = available.Length > 0 ? available[0] : null;
                if (chosen is null) throw ServingException.NotFound($"Model '{model}' has no available version{DescribeStates(entry)}.");
            }
            else
            {
                var version = ResolveVersion(entry, selector);
                foreach (var s in available) if (s.Version == version) chosen = s;
                if (chosen is null)
                    throw ServingException.NotFound($"Model '{model}' version {version}{(selector.Label is null ? "" : $" (label '{selector.Label}')")} is not available{DescribeState(entry, version)}.");
            }
            if (chosen.TryAcquire()) return new ServableHandle(chosen);
            // Released between the read and the acquire: the next read sees the new list.
            Thread.Yield();
        }
        throw ServingException.NotFound($"Model '{model}' is being reloaded; try again.");
    }

    /// <summary>TF Serving's model status: every known version (no selector), or the selected one.</summary>
    /// <exception cref="ServingException">404: unknown model, version or label.</exception>
    public IReadOnlyList<ModelVersionStatus> GetStatus(string model, VersionSelector selector = default)
    {
        var entry = GetModel(model);
        lock (entry)
        {
            if (selector.Version is null && selector.Label is null)
            {
                if (entry.Versions.Count == 0) throw ServingException.NotFound($"Model '{model}' has no versions in {_repository.Description}.");
                return entry.Versions.Values.OrderByDescending(v => v.Version).Select(v => v.ToStatus(model)).ToList();
            }
            var version = ResolveVersion(entry, selector);
            if (!entry.Versions.TryGetValue(version, out var v))
                throw ServingException.NotFound($"Model '{model}' has no version {version}{(selector.Label is null ? "" : $" (label '{selector.Label}')")}.");
            return [v.ToStatus(model)];
        }
    }

    /// <summary>Stops polling and releases every loaded version (in-flight requests finish first).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null)
        {
            try
            {
                await _loop;
            }
            catch (OperationCanceledException)
            {
            }
        }
        await _pollGate.WaitAsync();
        try
        {
            foreach (var entry in _models.Values)
            {
                lock (entry)
                {
                    foreach (var v in entry.Versions.Values.Where(v => v.State == ModelVersionState.Available).ToList()) UnloadLocked(entry, v);
                    entry.Available = [];
                }
            }
        }
        finally
        {
            _pollGate.Release();
        }
        _stop.Dispose();
    }

    private async Task PollLoopAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(_options.PollInterval, _time, stop);
            try
            {
                await PollOnceAsync(stop);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The repository may be briefly unreachable (Azure); the versions loaded keep serving and the next poll retries.
                PollFailed?.Invoke(e);
            }
        }
    }

    /// <summary>Raised when a poll fails (e.g. the store is unreachable); serving continues with what is loaded.</summary>
    public event Action<Exception>? PollFailed;

    private async Task SyncModelAsync(ModelEntry entry, CancellationToken cancellation)
    {
        var listed = await _repository.ListVersionsAsync(entry.Name, cancellation);
        var ready = listed.Where(v => v.Ready).OrderByDescending(v => v.Version).ToList();
        var keep = entry.Config?.KeepVersions ?? _options.KeepVersions;
        var wanted = new HashSet<long>();
        var labelled = entry.Labels.Values.ToHashSet();

        // Newest first until `keep` versions serve; a version that fails does not count, so the previous one stays.
        var serving = 0;
        foreach (var v in ready)
        {
            if (serving >= keep && !labelled.Contains(v.Version)) continue;
            if (!await EnsureLoadedAsync(entry, v, cancellation)) continue;
            wanted.Add(v.Version);
            if (serving < keep) serving++;
        }

        lock (entry)
        {
            var present = ready.Select(v => v.Version).ToHashSet();
            // Availability first, as TF Serving's availability-preserving policy: when no version from the repository is
            // available (the serving version's folder was deleted, its replacement failed to load), the versions
            // already loaded keep serving until another one is ready.
            var keepServing = wanted.Count == 0;
            foreach (var v in entry.Versions.Values.ToList())
            {
                if (v.State == ModelVersionState.Available && !wanted.Contains(v.Version) && !keepServing) UnloadLocked(entry, v);
                else if (v.State == ModelVersionState.End && !present.Contains(v.Version)) entry.Versions.Remove(v.Version);
            }
            PublishLocked(entry);
        }
    }

    // Returns true when the version is (now) available.
    private async Task<bool> EnsureLoadedAsync(ModelEntry entry, RepositoryVersion v, CancellationToken cancellation)
    {
        VersionEntry ve;
        lock (entry)
        {
            if (entry.Versions.TryGetValue(v.Version, out var existing))
            {
                if (existing.State == ModelVersionState.Available) return true;
                if (existing.State is ModelVersionState.Unloading or ModelVersionState.Loading) return false;
                if (existing.State == ModelVersionState.End && existing.ErrorCode != "OK" && existing.MarkerETag == v.MarkerETag) return false;
            }
            ve = new VersionEntry(v.Version) { MarkerETag = v.MarkerETag };
            entry.Versions[v.Version] = ve;
            SetState(entry, ve, ModelVersionState.Start);
            SetState(entry, ve, ModelVersionState.Loading);
        }
        ServableVersion? servable = null;
        string code = "OK", message = "";
        try
        {
            var bytes = await _repository.ReadModelAsync(entry.Name, v.Version, cancellation);
            var loaded = ModelLoader.Load(bytes, new InferenceSessionOptions { IntraOpThreads = _options.IntraOpThreads },
                $"{_repository.Description}/{entry.Name}/{v.Version}/{ModelRepository.ModelFileName}");
            servable = new ServableVersion(entry.Name, v.Version, loaded, _options.Batching, _time, s => OnReleased(entry, s));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            code = e switch
            {
                OnnxRuntimeException or InvalidDataException => "INVALID_ARGUMENT",
                BlobNotFoundException => "NOT_FOUND",
                _ => "UNKNOWN",
            };
            message = e.Message;
        }
        lock (entry)
        {
            if (servable is null)
            {
                ve.ErrorCode = code;
                ve.ErrorMessage = message;
                SetState(entry, ve, ModelVersionState.End);
                return false;
            }
            ve.Servable = servable;
            SetState(entry, ve, ModelVersionState.Available);
            PublishLocked(entry);
            return true;
        }
    }

    private void UnloadLocked(ModelEntry entry, VersionEntry v)
    {
        SetState(entry, v, ModelVersionState.Unloading);
        var servable = v.Servable!;
        entry.Available = entry.Available.Where(s => s != servable).ToArray();
        servable.Release(); // the manager's reference; the last in-flight request's release ends it
    }

    private void OnReleased(ModelEntry entry, ServableVersion servable)
    {
        lock (entry)
        {
            if (entry.Versions.TryGetValue(servable.Version, out var v) && v.Servable == servable)
            {
                v.Servable = null;
                SetState(entry, v, ModelVersionState.End);
            }
        }
    }

    private static void PublishLocked(ModelEntry entry) =>
        entry.Available = entry.Versions.Values.Where(v => v.State == ModelVersionState.Available).OrderByDescending(v => v.Version).Select(v => v.Servable!).ToArray();

    private void SetState(ModelEntry entry, VersionEntry v, ModelVersionState state)
    {
        v.State = state;
        StateChanged?.Invoke(v.ToStatus(entry.Name));
    }

    private ModelEntry GetModel(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (_models.TryGetValue(model, out var entry)) return entry;
        var known = _models.Keys.Order(StringComparer.Ordinal).ToList();
        throw ServingException.NotFound($"Model '{model}' is not served{(known.Count == 0 ? "" : $" (models: {string.Join(", ", known)})")}.");
    }

    private static long ResolveVersion(ModelEntry entry, VersionSelector selector)
    {
        if (selector.Version is { } v) return v;
        if (entry.Labels.TryGetValue(selector.Label!, out var labelled)) return labelled;
        throw ServingException.NotFound($"Model '{entry.Name}' has no version label '{selector.Label}'{(entry.Labels.Count == 0 ? "" : $" (labels: {string.Join(", ", entry.Labels.Keys.Order(StringComparer.Ordinal))})")}.");
    }

    private static string DescribeState(ModelEntry entry, long version)
    {
        lock (entry)
        {
            if (!entry.Versions.TryGetValue(version, out var v)) return " (no such version)";
            return v.ErrorMessage.Length > 0 ? $" (state {v.ToStatus(entry.Name).StateName}: {v.ErrorMessage})" : $" (state {v.ToStatus(entry.Name).StateName})";
        }
    }

    private static string DescribeStates(ModelEntry entry)
    {
        lock (entry)
        {
            if (entry.Versions.Count == 0) return " (no complete version in the repository)";
            return " (" + string.Join("; ", entry.Versions.Values.OrderByDescending(v => v.Version).Select(v =>
                $"version {v.Version}: {v.ToStatus(entry.Name).StateName}{(v.ErrorMessage.Length > 0 ? ": " + v.ErrorMessage : "")}")) + ")";
        }
    }

    private sealed class ModelEntry(string name, ModelConfig? config)
    {
        public string Name { get; } = name;

        public ModelConfig? Config { get; } = config;

        public Dictionary<long, VersionEntry> Versions { get; } = [];

        // Copy-on-write snapshots read by requests without the lock.
        public volatile ServableVersion[] Available = [];

        public volatile Dictionary<string, long> Labels = new(config?.VersionLabels ?? new Dictionary<string, long>(), StringComparer.Ordinal);
    }

    private sealed class VersionEntry(long version)
    {
        public long Version { get; } = version;

        public ModelVersionState State { get; set; } = ModelVersionState.Start;

        public string ErrorCode { get; set; } = "OK";

        public string ErrorMessage { get; set; } = "";

        public string? MarkerETag { get; set; }

        public ServableVersion? Servable { get; set; }

        public ModelVersionStatus ToStatus(string model) => new(model, Version, State, ErrorCode, ErrorMessage);
    }
}

/// <summary>Which version a request asks for: the latest (default), a number, or a label.</summary>
/// <param name="Version">A specific version, or null.</param>
/// <param name="Label">A version label, or null.</param>
public readonly record struct VersionSelector(long? Version, string? Label)
{
    /// <summary>The latest available version.</summary>
    public static VersionSelector Latest => default;

    /// <summary>A specific version.</summary>
    public static VersionSelector ForVersion(long version) => new(version, null);

    /// <summary>The version a label points at.</summary>
    public static VersionSelector ForLabel(string label) => new(null, label);
}
