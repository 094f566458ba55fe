using Serverless.Metadata;

namespace Serverless.Metadata.Tests;

/// <summary>A temporary folder with a store file in it, deleted after the test.</summary>
internal sealed class TempStore : IDisposable
{
    public TempStore()
    {
        Folder = Path.Combine(Path.GetTempPath(), "mlmd-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        FilePath = Path.Combine(Folder, "metadata.db");
    }

    public string Folder { get; }

    public string FilePath { get; }

    private readonly List<SqliteMetadataStore> opened = [];

    public SqliteMetadataStore Open(TimeProvider? time = null)
    {
        var store = SqliteMetadataStore.Open(FilePath, time);
        opened.Add(store);
        return store;
    }

    public void Dispose()
    {
        foreach (var store in opened)
        {
            store.Dispose();
        }

        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;
}
