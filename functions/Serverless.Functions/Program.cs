using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Serverless.Functions;

// The isolated worker: ASP.NET Core integration for the HTTP functions, the pipeline services for every function.
var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
string? Setting(string name) => builder.Configuration[name];
builder.Services.AddPipelineFunctions(PipelineFunctionsSetup.LoadOptions(AppContext.BaseDirectory, Setting), Setting);
builder.Build().Run();
