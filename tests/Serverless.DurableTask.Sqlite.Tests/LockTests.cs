using DurableTask.Core;
using DurableTask.Core.Exceptions;
using DurableTask.Core.History;
using Microsoft.Extensions.Time.Testing;

namespace Serverless.DurableTask.Sqlite.Tests;

/// <summary>
/// Lock expiry and takeover at the provider's interface, with a fake clock instead of waiting: two services on one file
/// stand for two workers, the first of which stalls past its lock timeout (no renewal: the services are not started).
/// </summary>
public sealed class LockTests : IAsyncLifetime
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(10);
    private readonly string _dir = Directory.CreateTempSubdirectory("dtfx-sqlite-lock-").FullName;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly SqliteOrchestrationService _a;
    private readonly SqliteOrchestrationService _b;

    public LockTests()
    {
        var settings = new SqliteOrchestrationServiceSettings { DatabasePath = Path.Combine(_dir, "hub.db"), WorkItemLockTimeout = LockTimeout };
        _a = new SqliteOrchestrationService(settings, _time);
        _b = new SqliteOrchestrationService(settings, _time);
    }

    private async Task<TaskOrchestrationWorkItem> StartAndLockAsync(SqliteOrchestrationService service, string id)
    {
        await new TaskHubClient(service).CreateOrchestrationInstanceAsync("Any", "", id, null);
        return await service.LockNextTaskOrchestrationWorkItemAsync(TimeSpan.FromSeconds(5), CancellationToken.None)
            ?? throw new InvalidOperationException("nothing to lock");
    }

    private static OrchestrationState Running(TaskOrchestrationWorkItem item) => new()
    {
        OrchestrationInstance = new OrchestrationInstance { InstanceId = item.InstanceId, ExecutionId = "e1" },
        Name = "Any",
        OrchestrationStatus = OrchestrationStatus.Running,
        CreatedTime = DateTime.UtcNow,
    };

    [Fact]
    public async Task LockNext_InstanceLockedByAnotherWorker_IsNotHandedOutUntilTheLockExpires()
    {
        var first = await StartAndLockAsync(_a, "locked");

        Assert.Null(await _b.LockNextTaskOrchestrationWorkItemAsync(TimeSpan.FromMilliseconds(200), CancellationToken.None));
        _time.Advance(LockTimeout + TimeSpan.FromSeconds(1));
        var second = await _b.LockNextTaskOrchestrationWorkItemAsync(TimeSpan.FromSeconds(5), CancellationToken.None);

        Assert.Equal(first.InstanceId, second?.InstanceId);
        Assert.Equal(first.NewMessages.Count, second?.NewMessages.Count);
    }

    [Fact]
    public async Task Complete_LockLostToAnotherWorker_IsAbortedAndTheNewOwnerCommits()
    {
        var stale = await StartAndLockAsync(_a, "taken-over");
        _time.Advance(LockTimeout + TimeSpan.FromSeconds(1));
        var owner = await _b.LockNextTaskOrchestrationWorkItemAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.NotNull(owner);

        await Assert.ThrowsAsync<SessionAbortedException>(() => _a.CompleteTaskOrchestrationWorkItemAsync(
            stale, stale.OrchestrationRuntimeState, [], [], [], null!, Running(stale)));
        Assert.Null(await stale.Session.FetchNewOrchestrationMessagesAsync(stale)); // the stale session ends
        await _b.CompleteTaskOrchestrationWorkItemAsync(owner, owner.OrchestrationRuntimeState, [], [], [], null!, Running(owner));

        var state = await _b.GetOrchestrationStateAsync("taken-over", (string?)null);
        Assert.Equal(OrchestrationStatus.Running, state?.OrchestrationStatus);
    }

    [Fact]
    public async Task RenewLock_ExtendsTheLock_SoAnotherWorkerCannotTakeIt()
    {
        var item = await StartAndLockAsync(_a, "renewed");
        _time.Advance(LockTimeout * 0.8);
        await _a.RenewTaskOrchestrationWorkItemLockAsync(item);
        _time.Advance(LockTimeout * 0.8);

        Assert.Null(await _b.LockNextTaskOrchestrationWorkItemAsync(TimeSpan.FromMilliseconds(200), CancellationToken.None));
        Assert.True(item.LockedUntilUtc > _time.GetUtcNow().UtcDateTime);
    }

    [Fact]
    public async Task ActivityRunTwiceAfterLockExpiry_FirstResultWins_OrchestrationGetsOneResult()
    {
        var turn = await StartAndLockAsync(_a, "activity-twice");
        var scheduled = new TaskMessage
        {
            OrchestrationInstance = new OrchestrationInstance { InstanceId = "activity-twice", ExecutionId = "e1" },
            Event = new TaskScheduledEvent(0, "Work", "", "1"),
        };
        await _a.CompleteTaskOrchestrationWorkItemAsync(turn, turn.OrchestrationRuntimeState, [scheduled], [], [], null!, Running(turn));

        var slow = await _a.LockNextTaskActivityWorkItem(TimeSpan.FromSeconds(5), CancellationToken.None);
        _time.Advance(LockTimeout + TimeSpan.FromSeconds(1));
        var retry = await _b.LockNextTaskActivityWorkItem(TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.NotNull(slow);
        Assert.Equal(slow.Id, retry?.Id);

        TaskMessage Result(string output) => new() { OrchestrationInstance = scheduled.OrchestrationInstance, Event = new TaskCompletedEvent(-1, 0, output) };
        await _b.CompleteTaskActivityWorkItemAsync(retry!, Result("\"from b\""));
        await _a.CompleteTaskActivityWorkItemAsync(slow, Result("\"from a\""));

        var next = await _a.LockNextTaskOrchestrationWorkItemAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        var completed = Assert.Single(next!.NewMessages);
        Assert.Equal("\"from b\"", ((TaskCompletedEvent)completed.Event).Result);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    // IAsyncLifetime: xUnit 2.9 does not call a test class's IAsyncDisposable.DisposeAsync.
    public async Task DisposeAsync()
    {
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        Directory.Delete(_dir, true);
    }
}
