using Xunit;

namespace Serverless.Testing.Azurite;

/// <summary>
/// xunit fixture owning one on-disk Azurite for a test class or collection
/// (<c>IClassFixture&lt;AzuriteFixture&gt;</c>). On-disk, not in-memory, so multi-GB tests fit.
/// </summary>
public class AzuriteFixture : IAsyncLifetime
{
    private AzuriteProcess? _azurite;

    /// <summary>The running emulator; valid between InitializeAsync and DisposeAsync.</summary>
    public AzuriteProcess Azurite => _azurite ?? throw new InvalidOperationException("Azurite is not started.");

    /// <summary>Connection string with account key and the three endpoints.</summary>
    public string ConnectionString => Azurite.ConnectionString;

    /// <summary>Whether to use in-memory persistence; override in a derived fixture for small, fast tests.</summary>
    protected virtual bool InMemory => false;

    /// <summary>Whether to serve https with a self-signed certificate and accept bearer tokens (--oauth basic).</summary>
    protected virtual bool Https => false;

    /// <inheritdoc />
    public async Task InitializeAsync() => _azurite = await AzuriteProcess.StartAsync(InMemory, Https);

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_azurite != null) await _azurite.DisposeAsync();
    }
}
