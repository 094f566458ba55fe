using Serverless.Testing.Azurite;

namespace Serverless.Hosting.Tests.Http;

/// <summary>One Azurite for the HTTP API tests; each test gets its own task hub on it.</summary>
public sealed class SharedAzurite : AzuriteFixture;

/// <summary>The tests that share <see cref="SharedAzurite"/>.</summary>
[CollectionDefinition("http-azurite")]
public sealed class HttpAzuriteCollection : ICollectionFixture<SharedAzurite>;
