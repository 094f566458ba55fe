using Serverless.Pipelines.Hosting.Cli;

return await CliApp.RunAsync(args, Console.Out, Console.Error);
