namespace Serverless.Hosting.Tests.Faults;

/// <summary>
/// The kill tests on the embedded SQLite provider: every worker process and the test's client open one database file
/// (WAL mode; SQLite's file locks serialize their commits). There are no partitions: a killed process leaves its
/// orchestration and activity locks in the file, and once they expire (host.json <c>workItemLockTimeout</c>, here 5 s
/// instead of 30 s) the surviving or restarted worker locks those instances and tasks and finishes them. The live
/// worker renews its own locks every third of the timeout, so on a loaded machine it keeps them. Extended sessions stay
/// on (the provider's default): a killed session's instance is rebuilt from its stored history by the next worker.
/// </summary>
public sealed class SqliteWorkerKillTests : WorkerKillTests
{
    /// <summary>The database file in the test's own folder, opened by every process of the test.</summary>
    private string DatabasePath => Path.Combine(Folder, "kill.db");

    /// <inheritdoc/>
    protected override IReadOnlyList<string> AppSettings => [$"KillStorage={DatabasePath}"];

    /// <inheritdoc/>
    protected override string StorageProviderJson =>
        """{ "type": "sqlite", "connectionStringName": "KillStorage", "workItemLockTimeout": "00:00:05" }""";
}
