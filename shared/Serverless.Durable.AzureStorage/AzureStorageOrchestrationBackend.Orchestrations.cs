using System.Diagnostics;
using Azure;
using Microsoft.Extensions.Logging;
using Serverless.Durable.Backend;
using Serverless.Durable.History;
using Serverless.Storage.Blobs.Models;

namespace Serverless.Durable.AzureStorage;

public sealed partial class AzureStorageOrchestrationBackend
{
    private Task EnsurePartitionsAsync(CancellationToken cancellation)
    {
        if (_partitionsStarting != null) return _partitionsStarting;
        lock (_bufferLock)
        {
            if (_partitionsStarting == null)
            {
                _partitions = new PartitionManager(_leases, _partitionCount, _options, _logger, OnPartitionLost);
                _partitionsStarting = _partitions.StartAsync(CancellationToken.None);
            }
        }
        return _partitionsStarting.WaitAsync(cancellation);
    }

    /// <summary>Forgets everything buffered for a partition this worker no longer owns; its messages reappear for the new owner.</summary>
    private void OnPartitionLost(int partition)
    {
        lock (_bufferLock)
        {
            foreach (var id in _entries.Where(e => e.Value.Partition == partition).Select(e => e.Key).ToList()) _entries.Remove(id);
            foreach (var instance in _pending.Keys.Where(i => Names.Partition(i, _partitionCount) == partition).ToList()) _pending.Remove(instance);
            _timers.RemoveAll(t => t.Partition == partition);
        }
        foreach (var instance in _cache.Keys.Where(i => Names.Partition(i, _partitionCount) == partition).ToList()) _cache.TryRemove(instance, out _);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<OrchestrationWorkItem>> LockNextOrchestrationWorkItemsAsync(int maxCount, TimeSpan lockTimeout, CancellationToken cancellation = default)
    {
        CheckInitialized();
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        await EnsurePartitionsAsync(cancellation).ConfigureAwait(false);
        var owned = _partitions!.Owned;
        if (owned.Length == 0) return [];
        ReleaseDueTimers();
        if (ReadyCount() < maxCount) await FetchAsync(owned, lockTimeout, cancellation).ConfigureAwait(false);
        ReleaseDueTimers();
        var picked = Pick(maxCount);
        if (picked.Count == 0) return [];
        var prepared = await Task.WhenAll(picked.Select(p => PrepareAsync(p.Instance, p.Entries, lockTimeout, cancellation))).ConfigureAwait(false);
        return prepared.OfType<OrchestrationWorkItem>().ToList();
    }

    private int ReadyCount()
    {
        var now = Stopwatch.GetTimestamp();
        lock (_bufferLock)
            return _pending.Count(p => !_locked.Contains(p.Key) && (!_notBefore.TryGetValue(p.Key, out var nb) || nb <= now));
    }

    private void ReleaseDueTimers()
    {
        var nowTicks = Now.Ticks;
        lock (_bufferLock)
        {
            for (var i = _timers.Count - 1; i >= 0; i--)
            {
                var t = _timers[i];
                if (t.Envelope.FireAt > nowTicks) continue;
                _timers.RemoveAt(i);
                AddPending(t);
            }
        }
    }

    private void AddPending(MessageEntry e)
    {
        if (!_pending.TryGetValue(e.Instance, out var list)) _pending[e.Instance] = list = [];
        if (!list.Contains(e)) list.Add(e);
    }

    /// <summary>Receives a batch from each owned control queue. Messages not yet due by the engine's clock are held
    /// as timers (hidden on the queue until about their due time, so a new owner sees them then); the rest are buffered
    /// per instance. A message received again (its visibility ran out while buffered) only refreshes its pop receipt.</summary>
    private async Task FetchAsync(int[] owned, TimeSpan lockTimeout, CancellationToken cancellation)
    {
        var visibility = TimeSpan.FromSeconds(Math.Clamp(Math.Ceiling(lockTimeout.TotalSeconds), 1, MaxVisibility.TotalSeconds));
        owned = HotPartitions(owned);
        if (owned.Length == 0) return;
        var batches = await Task.WhenAll(owned.Select(async p =>
        {
            var queue = _control[p];
            var r = await WithRecreateAsync(() => queue.ReceiveMessagesAsync(32, visibility, cancellation),
                () => queue.CreateIfNotExistsAsync(cancellation: cancellation)).ConfigureAwait(false);
            if (r.Value.Length >= 32) MarkHot(p); // more may be waiting
            return (Partition: p, Messages: r.Value);
        })).ConfigureAwait(false);
        var hide = new List<MessageEntry>();
        var nowTicks = Now.Ticks;
        foreach (var (p, messages) in batches)
        {
            foreach (var m in messages)
            {
                ControlEnvelope env;
                HistoryEvent evt;
                List<(string Id, HistoryEvent Event)>? batch = null;
                try
                {
                    env = Json.Deserialize<ControlEnvelope>(m.Body);
                    if (env.Results is { Count: > 0 } results)
                    {
                        batch = results.Select(r => (r.Id, HistoryJson.Deserialize(r.Event))).ToList();
                        evt = batch[0].Event;
                    }
                    else evt = HistoryJson.Deserialize(await ResolveEventAsync(env.Event, env.Blob, cancellation).ConfigureAwait(false));
                }
                catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidDataException or NotSupportedException)
                {
                    _logger.LogError(ex, "Dropping an unreadable message {MessageId} from control queue {Queue}.", m.MessageId, _control[p].Name);
                    await DeleteQuietlyAsync(_control[p], m.MessageId, m.PopReceipt, cancellation).ConfigureAwait(false);
                    continue;
                }
                catch (RequestFailedException ex) when (ex.Status == 404)
                {
                    _logger.LogWarning("Dropping message {MessageId}: its payload blob is gone (instance purged).", m.MessageId);
                    await DeleteQuietlyAsync(_control[p], m.MessageId, m.PopReceipt, cancellation).ConfigureAwait(false);
                    continue;
                }
                lock (_bufferLock)
                {
                    if (!_partitions!.IsOwned(p)) continue;
                    if (_entries.TryGetValue(m.MessageId, out var known))
                    {
                        known.PopReceipt = m.PopReceipt;
                        continue;
                    }
                    var entry = new MessageEntry
                    {
                        QueueMessageId = m.MessageId, PopReceipt = m.PopReceipt, Partition = p, Envelope = env, Event = evt, Arrival = ++_arrival, Batch = batch,
                    };
                    _entries[m.MessageId] = entry;
                    if (env.FireAt is { } fire && fire > nowTicks)
                    {
                        _timers.Add(entry);
                        hide.Add(entry);
                    }
                    else AddPending(entry);
                }
            }
        }
        // Hide future messages until (about) their due time; capped at the queue's 7-day limit, after which they are
        // received again and hidden again. The engine's clock decides when they fire, so a test clock works too.
        await Task.WhenAll(hide.Select(async e =>
        {
            var due = TimeSpan.FromTicks(Math.Max(0, e.Envelope.FireAt!.Value - Now.Ticks)) + TimeSpan.FromSeconds(1);
            var v = due > MaxVisibility ? MaxVisibility : TimeSpan.FromSeconds(Math.Ceiling(due.TotalSeconds));
            try
            {
                var r = await _control[e.Partition].UpdateMessageAsync(e.QueueMessageId, e.PopReceipt, null, v, cancellation).ConfigureAwait(false);
                lock (_bufferLock) e.PopReceipt = r.Value.PopReceipt;
            }
            catch (RequestFailedException ex) when (ex.Status is 400 or 404)
            {
                // Received again meanwhile; the newer receipt is already in the entry.
            }
        })).ConfigureAwait(false);
    }

    /// <summary>Which owned partitions to receive from now: all of them at most every
    /// <see cref="FullFetchInterval"/> (messages from other processes), in between only those this process sent to
    /// since their last receive (a pulse after a local send would otherwise cost a receive on every partition).</summary>
    private int[] HotPartitions(int[] owned)
    {
        var now = Stopwatch.GetTimestamp();
        lock (_hot)
        {
            int[] targets;
            if (Stopwatch.GetElapsedTime(_lastFullFetch, now) >= FullFetchInterval)
            {
                _lastFullFetch = now;
                targets = owned;
            }
            else targets = owned.Where(_hot.Contains).ToArray();
            _hot.Clear();
            return targets;
        }
    }

    private void MarkHot(int partition)
    {
        lock (_hot) _hot.Add(partition);
    }

    private List<(string Instance, List<MessageEntry> Entries)> Pick(int maxCount)
    {
        var now = Stopwatch.GetTimestamp();
        var picked = new List<(string, List<MessageEntry>)>();
        lock (_bufferLock)
        {
            foreach (var (instance, list) in _pending.OrderBy(p => p.Value.Min(e => e.Arrival)))
            {
                if (picked.Count >= maxCount) break;
                if (_locked.Contains(instance) || (_notBefore.TryGetValue(instance, out var nb) && nb > now)) continue;
                picked.Add((instance, list));
            }
            foreach (var (instance, _) in picked)
            {
                _pending.Remove(instance);
                _notBefore.Remove(instance);
                _locked.Add(instance);
            }
        }
        return picked;
    }

    private void Unlock(string instance, IEnumerable<MessageEntry> done)
    {
        lock (_bufferLock)
        {
            _locked.Remove(instance);
            foreach (var e in done) _entries.Remove(e.QueueMessageId);
        }
    }

    /// <summary>Puts messages back in the buffer (not before <paramref name="delay"/>) and unlocks the instance.</summary>
    private void PutBack(string instance, List<MessageEntry> entries, TimeSpan delay)
    {
        lock (_bufferLock)
        {
            _locked.Remove(instance);
            foreach (var e in entries)
                if (_entries.ContainsKey(e.QueueMessageId)) AddPending(e);
            if (delay > TimeSpan.Zero) _notBefore[instance] = Stopwatch.GetTimestamp() + (long)(delay.TotalSeconds * Stopwatch.Frequency);
        }
    }

    private Task DeleteEntriesAsync(IEnumerable<MessageEntry> entries, CancellationToken cancellation) =>
        Task.WhenAll(entries.Select(e =>
        {
            string receipt;
            lock (_bufferLock) receipt = e.PopReceipt;
            return DeleteQuietlyAsync(_control[e.Partition], e.QueueMessageId, receipt, cancellation);
        }));

    /// <summary>
    /// Turns buffered messages into a work item: loads the history document (from the cache when this process
    /// committed the instance's last turn completely), drops messages already consumed (redeliveries, re-sent
    /// duplicates), repairs an interrupted previous turn, and applies the instance-existence rules.
    /// </summary>
    private async Task<OrchestrationWorkItem?> PrepareAsync(string instance, List<MessageEntry> entries, TimeSpan lockTimeout, CancellationToken cancellation)
    {
        try
        {
            HistoryDocument? doc;
            ETag? etag;
            if (_cache.TryGetValue(instance, out var cached))
            {
                (doc, etag) = (cached.Document, cached.ETag);
            }
            else
            {
                (doc, etag) = await ReadHistoryAsync(instance, cancellation).ConfigureAwait(false);
                if (doc != null)
                {
                    var (state, _) = await ReadStateAsync(instance, cancellation).ConfigureAwait(false);
                    if (state == null || state.Version < doc.Version)
                    {
                        // The last turn committed its history but did not finish (crash or storage error before the
                        // state write): send its outbox again (receivers drop duplicates) and write the state.
                        await RepairAsync(instance, doc, cancellation).ConfigureAwait(false);
                    }
                    _cache[instance] = new CachedDocument(etag!.Value, doc);
                }
            }
            entries.Sort((a, b) => a.Arrival.CompareTo(b.Arrival));
            var consumed = doc == null ? [] : new HashSet<string>(doc.Consumed, StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var fresh = new List<MessageEntry>();
            var drop = new List<MessageEntry>();
            foreach (var e in entries)
            {
                // A batched message is dropped only when every result in it was consumed before.
                e.FreshEvents = [.. e.Items.Where(i => !consumed.Contains(i.Id) && seen.Add(i.Id)).Select(i => i.Event)];
                (e.FreshEvents.Count == 0 ? drop : fresh).Add(e);
            }

            var starts = fresh.Where(e => e.Event is ExecutionStartedEvent).ToList();
            var reset = false;
            if (doc != null && doc.Events.Count > 0 && !doc.Status.IsTerminal())
            {
                drop.AddRange(starts); // a live instance keeps running; a second start is dropped (SQLite does the same)
                fresh.RemoveAll(e => e.Event is ExecutionStartedEvent);
            }
            else if (starts.Count > 0)
            {
                // New instance, a finished one being restarted, or the next execution after ContinueAsNew: exactly one
                // start, first, then the rest in arrival order.
                reset = doc != null && doc.Status.IsTerminal();
                drop.AddRange(starts.Skip(1));
                fresh = [starts[0], .. fresh.Where(e => e.Event is not ExecutionStartedEvent)];
            }
            else if (doc == null || doc.Events.Count == 0)
            {
                // No execution to deliver to. If a client created the instance (a delayed start), keep the messages
                // for it; otherwise the instance does not exist and they are dropped.
                StateDocument? state = null;
                if (doc == null) (state, _) = await ReadStateAsync(instance, cancellation).ConfigureAwait(false);
                if (doc != null || (state != null && !state.Status.IsTerminal()))
                {
                    if (drop.Count > 0) await DeleteEntriesAsync(drop, cancellation).ConfigureAwait(false);
                    Unlock(instance, drop);
                    PutBack(instance, fresh, TimeSpan.FromSeconds(1));
                    return null;
                }
                drop.AddRange(fresh);
                fresh.Clear();
            }
            else if (doc.Status.IsTerminal())
            {
                drop.AddRange(fresh); // late messages for a finished instance
                fresh.Clear();
            }
            if (drop.Count > 0) await DeleteEntriesAsync(drop, cancellation).ConfigureAwait(false);
            if (fresh.Count == 0)
            {
                Unlock(instance, drop);
                return null;
            }
            lock (_bufferLock) foreach (var d in drop) _entries.Remove(d.QueueMessageId);
            return new OrchestrationWorkItem
            {
                InstanceId = instance,
                ExecutionId = reset ? null : doc?.ExecutionId,
                Status = doc == null || reset ? OrchestrationRuntimeStatus.Pending : doc.Status,
                HistoryCount = doc == null || reset ? 0 : doc.Events.Count,
                Messages = fresh.SelectMany(e => e.FreshEvents).Select(ev => new OrchestrationMessage(instance, ev)).ToList(),
                BackendState = new TurnLease { Entries = fresh, Document = doc, ETag = etag, Reset = reset },
                LockedUntil = Now + lockTimeout,
            };
        }
        catch
        {
            _cache.TryRemove(instance, out _);
            PutBack(instance, entries, TimeSpan.FromSeconds(1));
            throw;
        }
    }

    /// <summary>Finishes an interrupted turn from its history document: re-sends the outbox (activities flagged so
    /// that workers check for an existing result before running them) and writes the state projection.</summary>
    private async Task RepairAsync(string instance, HistoryDocument doc, CancellationToken cancellation)
    {
        _logger.LogWarning("Repairing instance {InstanceId}: its last turn (history version {Version}) was committed but not finished; re-sending {Count} outbound messages and writing its state.",
            instance, doc.Version, doc.Outbox.Count);
        foreach (var o in doc.Outbox) if (o.Activity != null) o.Activity.Resent = true;
        await SendOutboxAsync(doc.Outbox, null, cancellation).ConfigureAwait(false);
        await WriteStateAsync(instance, Project(doc), null, cancellation).ConfigureAwait(false);
    }

    private async Task<List<ActivityWorkItem>> SendOutboxAsync(List<OutboxEntry> outbox, LocalActivityLease? localLease, CancellationToken cancellation)
    {
        var leased = new List<ActivityWorkItem>();
        var local = 0;
        var tasks = new List<Task>();
        foreach (var o in outbox)
        {
            if (o.Control != null)
            {
                tasks.Add(SendControlAsync(o.Control, cancellation));
                continue;
            }
            var a = o.Activity!;
            var isLocal = localLease != null && local < localLease.MaxCount && localLease.Pools.Contains(o.Pool!);
            if (!isLocal)
            {
                tasks.Add(SendActivityAsync(o.Pool!, a, null, cancellation));
                continue;
            }
            local++;
            a.Local = true;
            tasks.Add(LeaseLocallyAsync(o.Pool!, a, localLease!, leased, cancellation));
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
        return leased;
    }

    /// <summary>Sends an activity hidden for the lease time and keeps its pop receipt: the committing worker runs it
    /// at once, and if that worker dies the message reappears for others when the lease runs out.</summary>
    private async Task LeaseLocallyAsync(string pool, ActivityEnvelope a, LocalActivityLease lease, List<ActivityWorkItem> leased, CancellationToken cancellation)
    {
        var visibility = TimeSpan.FromSeconds(Math.Clamp(Math.Ceiling(lease.LockTimeout.TotalSeconds), 1, MaxVisibility.TotalSeconds));
        var receipt = await SendActivityAsync(pool, a, visibility, cancellation).ConfigureAwait(false);
        var scheduled = (TaskScheduledEvent)HistoryJson.Deserialize(a.Event!);
        var item = new ActivityWorkItem
        {
            Message = new ActivityMessage(a.Instance, a.Execution, scheduled),
            BackendState = new ActivityLease { Queue = WorkItemQueue(pool), MessageId = receipt.Value.MessageId, PopReceipt = receipt.Value.PopReceipt, Envelope = a },
            DequeueCount = 0,
            LockedUntil = Now + lease.LockTimeout,
        };
        lock (leased) leased.Add(item);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<HistoryEvent>> LoadHistoryAsync(OrchestrationWorkItem workItem, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var lease = (TurnLease)workItem.BackendState!;
        return Task.FromResult<IReadOnlyList<HistoryEvent>>(lease.Reset || lease.Document == null ? [] : lease.Document.Events);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Write order: (1) the history document, conditional on the ETag read at lock time - the commit point; it also
    /// carries the turn's outbox and the ids of the consumed messages; (2) the outbox messages; (3) the state blob
    /// with the history version it reflects; (4) deletion of the consumed messages. A crash after (1) leaves the state
    /// one version behind: the next lock of the instance (the consumed messages reappear) sees that, re-sends the
    /// outbox and writes the state, so a completed instance never stays "Running". A crash after (3) only leaves
    /// messages that are dropped as already consumed.
    /// </remarks>
    public async Task<IReadOnlyList<ActivityWorkItem>> CompleteOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, OrchestrationTurnResult result,
        LocalActivityLease? localLease = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(result);
        var lease = (TurnLease)workItem.BackendState!;
        var instance = workItem.InstanceId;
        var committed = false;
        try
        {
            if (result.NewEvents.Count == 0 && result.ContinuedAsNew == null)
            {
                await DeleteEntriesAsync(lease.Entries, cancellation).ConfigureAwait(false);
                committed = true;
                // Nothing recorded: local results travel the ordinary way (result message), so none is lost.
                await FallBackLocalResultsAsync(lease).ConfigureAwait(false);
                return [];
            }
            var now = Now;
            var old = lease.Reset ? null : lease.Document;
            var doc = BuildDocument(workItem, result, lease, old, now);

            // (1) commit point
            try
            {
                var conditions = lease.ETag is { } e ? new BlobRequestConditions { IfMatch = e } : new BlobRequestConditions { IfNoneMatch = ETag.All };
                var written = await WithRecreateAsync(() => _history.GetBlobClient(Names.HistoryBlob(instance)).UploadAsync(BinaryData.FromString(Json.Serialize(doc)),
                    new BlobUploadOptions { Conditions = conditions }, cancellation), () => _history.CreateIfNotExistsAsync(cancellation: cancellation)).ConfigureAwait(false);
                _cache.TryRemove(instance, out _);
                await Fault("after-history", instance, result).ConfigureAwait(false);
                // (2) outbox
                var leased = await SendOutboxAsync(doc.Outbox, localLease, cancellation).ConfigureAwait(false);
                await Fault("after-outbox", instance, result).ConfigureAwait(false);
                // (3) state projection
                await WriteStateAsync(instance, Project(doc), null, cancellation).ConfigureAwait(false);
                await Fault("after-state", instance, result).ConfigureAwait(false);
                // (4) consumed messages, and the work items of the results recorded in this turn
                await Task.WhenAll(DeleteEntriesAsync(lease.Entries, cancellation), DeleteLocalResultsAsync(lease, cancellation)).ConfigureAwait(false);
                _cache[instance] = new CachedDocument(written.Value.ETag, doc);
                committed = true;
                // Only now does the worker get (and run) the locally leased activities; if the commit failed they
                // reappear on the queue when their lease runs out.
                foreach (var a in leased) _runningActivities[((ActivityLease)a.BackendState!).Envelope.Id] = (ActivityLease)a.BackendState!;
                if (doc.Outbox.Any(o => o.Activity != null && !o.Activity.Local)) _activitySignal.Pulse();
                if (doc.Outbox.Any(o => o.Control != null)) _orchestrationSignal.Pulse();
                return leased;
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412)
            {
                throw new WorkItemLockLostException(instance);
            }
        }
        catch
        {
            _cache.TryRemove(instance, out _);
            if (!committed) await FallBackLocalResultsAsync(lease).ConfigureAwait(false);
            throw;
        }
        finally
        {
            if (committed) Unlock(instance, lease.Entries);
            else PutBack(instance, lease.Entries, TimeSpan.FromSeconds(1));
        }
    }

    private Task Fault(string point, string instance, OrchestrationTurnResult result) =>
        _options.FaultInjector is { } f && result.Status.IsTerminal() ? f(point, instance) : Task.CompletedTask;

    private static HistoryDocument BuildDocument(OrchestrationWorkItem workItem, OrchestrationTurnResult result, TurnLease lease, HistoryDocument? old, DateTime now)
    {
        var instance = workItem.InstanceId;
        var next = result.ContinuedAsNew;
        var createdTicks = lease.Entries.Select(e => e.Envelope.Created).FirstOrDefault(t => t != null);
        var created = old?.CreatedAt ?? (createdTicks is { } t0 ? new DateTime(t0, DateTimeKind.Utc) : now);
        var consumed = new List<string>(lease.Document?.Consumed ?? []);
        consumed.AddRange(lease.Entries.SelectMany(e => e.Items.Select(i => i.Id)));
        consumed.AddRange(lease.LocalResults.Select(r => r.Id));
        if (consumed.Count > MaxConsumedIds) consumed.RemoveRange(0, consumed.Count - MaxConsumedIds);
        var outbox = new List<OutboxEntry>();
        foreach (var a in result.Activities)
        {
            outbox.Add(new OutboxEntry
            {
                Pool = a.Scheduled.Pool,
                Activity = new ActivityEnvelope
                {
                    Id = $"a:{a.ExecutionId}:{a.Scheduled.EventId}", Instance = a.InstanceId, Execution = a.ExecutionId, TaskId = a.Scheduled.EventId,
                    Event = HistoryJson.Serialize(a.Scheduled),
                },
            });
        }
        foreach (var m in result.Messages)
        {
            outbox.Add(new OutboxEntry
            {
                Control = new ControlEnvelope
                {
                    Id = Guid.NewGuid().ToString("N"), Instance = m.InstanceId, FireAt = m.VisibleAt?.ToUniversalTime().Ticks,
                    Created = m.Event is ExecutionStartedEvent ? now.Ticks : null, Event = HistoryJson.Serialize(m.Event),
                },
            });
        }
        if (next != null)
        {
            foreach (var e in new HistoryEvent[] { next }.Concat(result.CarryOverEvents))
                outbox.Add(new OutboxEntry { Control = new ControlEnvelope { Id = Guid.NewGuid().ToString("N"), Instance = instance, Event = HistoryJson.Serialize(e) } });
        }
        return new HistoryDocument
        {
            Version = (lease.Document?.Version ?? 0) + 1,
            Name = result.Name,
            ExecutionId = result.ExecutionId,
            Status = next != null ? OrchestrationRuntimeStatus.Running : result.Status,
            CreatedAt = created,
            UpdatedAt = now,
            Input = next?.Input ?? result.Input,
            Output = next != null ? null : result.Output,
            CustomStatus = result.CustomStatus,
            Failure = next != null ? null : result.FailureDetails,
            ParentInstanceId = result.Parent?.InstanceId ?? old?.ParentInstanceId,
            Events = next != null ? [] : [.. old?.Events ?? [], .. result.NewEvents],
            Consumed = consumed,
            Outbox = outbox,
        };
    }

    /// <inheritdoc/>
    public async Task AbandonOrchestrationWorkItemAsync(OrchestrationWorkItem workItem, TimeSpan delay, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        var lease = (TurnLease)workItem.BackendState!;
        _cache.TryRemove(workItem.InstanceId, out _);
        await FallBackLocalResultsAsync(lease).ConfigureAwait(false);
        PutBack(workItem.InstanceId, lease.Entries, delay);
    }
}
