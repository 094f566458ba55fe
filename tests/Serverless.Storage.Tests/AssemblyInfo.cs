using Serverless.Testing.Azurite;

// Sequential: the 2 GB tests measure this process's working set, which parallel tests would inflate.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Serverless.Storage.Tests;

/// <summary>One on-disk Azurite shared by every test class in the collection.</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
