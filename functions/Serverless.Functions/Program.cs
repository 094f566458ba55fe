using Microsoft.Extensions.Hosting;
using Serverless.Functions;

// The isolated worker: ASP.NET Core integration for the HTTP functions, the pipeline services for every function.
PipelineFunctionsSetup.CreateBuilder(args).Build().Run();
